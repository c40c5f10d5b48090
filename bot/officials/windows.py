"""What officials type: time windows in local time, days, invite durations, numbers of days."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.i18n import N_
from bot.officials.access import BadInput
from bot.payload import normalize_code

DEFAULT_INVITE_TTL = timedelta(hours=72)
MAX_INVITE_TTL = timedelta(days=30)
MAX_WINDOW = timedelta(days=31)
TIME_FORMAT = "%Y-%m-%d %H:%M"

_DURATION = re.compile(r"^\s*(\d{1,4})\s*([mhd])\s*$", re.IGNORECASE | re.ASCII)
_MOMENT = r"(\d{4}-\d{1,2}-\d{1,2})[ T](\d{1,2}:\d{2})"
_WINDOW = re.compile(rf"^{_MOMENT}\s+(?:(\d{{4}}-\d{{1,2}}-\d{{1,2}})[ T])?(\d{{1,2}}:\d{{2}})$", re.ASCII)

WINDOW_USAGE = N_(
    "Send /{command} VENUE_CODE FROM TO, with local times written YYYY-MM-DD HH:MM, "
    "for example: /{command} K7Q2XH4M 2026-11-18 08:00 2026-11-18 12:30"
)
WINDOW_BACKWARDS = N_("The end of the window must come after its start.")
WINDOW_TOO_LONG = N_("A window can be at most 31 days long.")
WINDOW_IN_FUTURE = N_("The window starts in the future.")
DAY_USAGE = N_("Write the date as YYYY-MM-DD, for example 2026-11-18.")


@dataclass(frozen=True)
class Window:
    """A time window in UTC, typed by an official in local time."""

    start: datetime
    end: datetime

    def local(self, tz: ZoneInfo) -> str:
        return f"{self.start.astimezone(tz):%d/%m/%Y %H:%M} – {self.end.astimezone(tz):%d/%m/%Y %H:%M}"


def parse_duration(text: str) -> timedelta:
    """A duration written like 90m, 72h or 3d."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration like 90m, 72h or 3d")
    amount, unit = int(match.group(1)), match.group(2).lower()
    value = (
        timedelta(minutes=amount) if unit == "m" else timedelta(hours=amount if unit == "h" else amount * 24)
    )
    if not timedelta(minutes=1) <= value <= MAX_INVITE_TTL:
        raise ValueError("an invite lasts between 1 minute and 30 days")
    return value


def _local_moment(day: str, clock: str, tz: ZoneInfo) -> datetime:
    year, month, mday = (int(part) for part in day.split("-"))
    hour, minute = (int(part) for part in clock.split(":"))
    return datetime(year, month, mday, hour, minute, tzinfo=tz).astimezone(UTC)


def check_window(window: Window, *, now: datetime) -> Window:
    """The rules every window obeys, typed or confirmed: forwards, at most 31 days, not in the future."""
    if window.end <= window.start:
        raise BadInput(WINDOW_BACKWARDS)
    if window.end - window.start > MAX_WINDOW:
        raise BadInput(WINDOW_TOO_LONG)
    if window.start > now:
        raise BadInput(WINDOW_IN_FUTURE)
    return window


def parse_window(text: str, tz: ZoneInfo, *, now: datetime, command: str) -> Window:
    """`FROM TO` in local time: `YYYY-MM-DD HH:MM` or `YYYY-MM-DDTHH:MM`; TO may be just `HH:MM` (same day)."""
    match = _WINDOW.match(" ".join(text.split()))
    if not match:
        raise BadInput(WINDOW_USAGE, command=command)
    start_day, start_time, end_day, end_time = match.groups()
    try:
        start = _local_moment(start_day, start_time, tz)
        end = _local_moment(end_day or start_day, end_time, tz)
    except (ValueError, OverflowError):  # 2026-02-30, or year 1 east of UTC
        raise BadInput(WINDOW_USAGE, command=command) from None
    return check_window(Window(start, end), now=now)


def parse_venue_window(
    args: Sequence[str], tz: ZoneInfo, *, now: datetime, command: str
) -> tuple[str, Window]:
    """`VENUE_CODE FROM TO` as typed after /trace or /exposure."""
    code = normalize_code(args[0]) if args else None
    if code is None or len(args) < 3:
        raise BadInput(WINDOW_USAGE, command=command)
    return code, parse_window(" ".join(args[1:]), tz, now=now, command=command)


def parse_day(raw: str) -> date:
    """A day written YYYY-MM-DD."""
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadInput(DAY_USAGE) from None


def looks_like_date(raw: str) -> bool:
    """Whether a command's first word is meant as a date rather than a place."""
    return len(raw) >= 8 and raw[:4].isascii() and raw[:4].isdigit() and raw[4:5] == "-"


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The UTC moment a local day starts (refused for days a UTC datetime cannot hold)."""
    try:
        return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
    except OverflowError:
        raise BadInput(DAY_USAGE) from None


def parse_count(raw: str) -> int | None:
    """A whole number typed in ASCII digits (None otherwise: `isdigit()` alone accepts "²", which int() refuses)."""
    if not (raw.isascii() and raw.isdigit()):
        return None
    return int(raw)
