"""Clocks: code reads time from an injected clock so tests control it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    """Something that tells the current UTC time."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to (tests, simulations)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now

    def set(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = moment.astimezone(UTC)


def local_day(moment: datetime, tz: ZoneInfo) -> date:
    """The local calendar day of a UTC moment."""
    return moment.astimezone(tz).date()


def day_key(day: date) -> str:
    """The stored form of a local day: YYYY-MM-DD."""
    return day.isoformat()


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The UTC moment at which a local day starts."""
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """UTC start (inclusive) and end (exclusive) of a local day."""
    return local_midnight(day, tz), local_midnight(day + timedelta(days=1), tz)
