"""The owner's daily summary: figures as data, the message, the hourly chart, and queueing."""

from __future__ import annotations

import asyncio
import io
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bot.clock import Clock, local_midnight
from bot.i18n import Gettext, format_number, format_signed, gettext_for, pick_language
from bot.presence import busiest, hour_span
from storage.checkins import CheckinRepo
from storage.models import Venue, VenueDay
from storage.outbox import OutboundMessage, OutboxRepo
from storage.users import UserRepo
from storage.venues import VenueRepo

log = logging.getLogger(__name__)

KIND = "owner-summary"
COMPARISON_DAYS = 7
# Matplotlib is not thread-safe: one chart is drawn at a time, from a worker thread.
_CHART_LOCK = threading.Lock()
_BAR = "#1f6f8b"
_PEAK = "#e07a1f"


def summary_key(venue_code: str, day: date) -> str:
    return f"{KIND}:{venue_code}:{day.isoformat()}"


def covered_window(day: date, summary_hour: int) -> tuple[date, int]:
    """The local day a summary due at `summary_hour` on `day` reports, and the hour it stops at.

    A summary due at 00:00 reports the whole day that just ended.
    """
    if summary_hour == 0:
        return day - timedelta(days=1), 24
    return day, summary_hour


def due_at(day: date, summary_hour: int, tz: ZoneInfo) -> datetime:
    """The UTC moment a venue's summary for `day` is due."""
    return local_midnight(day, tz) + timedelta(hours=summary_hour)


@dataclass(frozen=True)
class OwnerSummary:
    """One venue's day, compared with the same hours of earlier days."""

    venue_code: str
    venue_name: str
    day: date
    until_hour: int  # comparisons use the hours before this one (24: the whole day)
    checkins: int
    visitors: int
    people: int
    hours: dict[int, int] = field(default_factory=dict)
    yesterday: int | None = None  # check-ins yesterday in the same hours; None before the venue existed
    average7: float | None = None  # mean check-ins in the same hours over up to 7 earlier days
    health_declaration: bool = False
    declared: int = 0
    declaration_answered: int = 0
    declaration_skipped: int = 0

    @property
    def busiest(self) -> tuple[int, int] | None:
        return busiest(self.hours)

    @property
    def checkins_in_window(self) -> int:
        return sum(count for hour, count in self.hours.items() if hour < self.until_hour)


def _window(day: VenueDay | None, until_hour: int) -> int:
    if day is None:
        return 0
    return sum(count for hour, count in day.hours.items() if hour < until_hour)


def build_summary(venue: Venue, day: date, until_hour: int, days: Sequence[VenueDay]) -> OwnerSummary:
    """The summary of `day` from a venue's daily counters (`days` may hold other days too)."""
    by_day = {stored.day: stored for stored in days}
    today = by_day.get(day.isoformat()) or VenueDay(venue_code=venue.code, day=day.isoformat())
    created = date.fromisoformat(venue.created_day)
    earlier = [
        day - timedelta(days=offset)
        for offset in range(1, COMPARISON_DAYS + 1)
        if day - timedelta(days=offset) >= created
    ]
    windows = [_window(by_day.get(past.isoformat()), until_hour) for past in earlier]
    return OwnerSummary(
        venue_code=venue.code,
        venue_name=venue.name,
        day=day,
        until_hour=until_hour,
        checkins=today.checkins,
        visitors=today.visitors,
        people=today.people,
        hours=dict(today.hours),
        yesterday=windows[0] if windows else None,
        average7=sum(windows) / len(windows) if windows else None,
        health_declaration=venue.settings.health_declaration,
        declared=today.declared,
        declaration_answered=today.declaration_answered,
        declaration_skipped=today.declaration_skipped,
    )


def render_summary(summary: OwnerSummary, _: Gettext, lang: str) -> str:
    """The summary message (a photo caption: kept well under 1024 characters)."""

    def n(value: float) -> str:
        return format_number(value, lang)

    lines = [
        _("🌙 Daily summary · {venue} · {date}").format(
            venue=summary.venue_name, date=summary.day.strftime("%d/%m/%Y")
        ),
        _("• Check-ins: {n}").format(n=n(summary.checkins)),
        _("• Unique visitors: {n}").format(n=n(summary.visitors)),
        _("• People, party sizes counted: {n}").format(n=n(summary.people)),
    ]
    peak = summary.busiest
    if peak is not None:
        lines.append(
            _.ngettext(
                "• Busiest hour: {hours} ({n} check-in)", "• Busiest hour: {hours} ({n} check-ins)", peak[1]
            ).format(hours=hour_span(peak[0]), n=n(peak[1]))
        )
    window = summary.checkins_in_window
    if summary.yesterday is not None:
        lines.append(
            _("• Against yesterday, same hours: {change} (yesterday {yesterday})").format(
                change=format_signed(window - summary.yesterday, lang), yesterday=n(summary.yesterday)
            )
        )
    if summary.average7 is not None:
        average = round(summary.average7, 1)
        lines.append(
            _("• Against the 7-day average, same hours: {change} (average {average})").format(
                change=format_signed(round(window - average, 1), lang), average=n(average)
            )
        )
    if summary.health_declaration or summary.declaration_answered or summary.declaration_skipped:
        lines.append(
            _(
                "• Health declarations: {declared} declared symptoms or exposure, "
                "{answered} answered, {skipped} skipped"
            ).format(
                declared=n(summary.declared),
                answered=n(summary.declaration_answered),
                skipped=n(summary.declaration_skipped),
            )
        )
    lines += ["", _("Settings and posters: /myvenues")]
    return "\n".join(lines)


def render_nudge(summary: OwnerSummary, _: Gettext) -> str:
    """What an owner gets instead of figures on a day without check-ins."""
    return "\n".join(
        [
            _("🌙 {venue} · {date}").format(venue=summary.venue_name, date=summary.day.strftime("%d/%m/%Y")),
            _("No one checked in today: is the poster visible at the entrance?"),
            _(
                "Put it at eye level where people queue or pay, and ask visitors to scan it. "
                "/myvenues sends the poster again."
            ),
        ]
    )


class _HourlyChart:
    """One reusable bar chart: creating a matplotlib figure costs more than drawing it."""

    def __init__(self) -> None:
        # A bare Figure on the Agg canvas: no pyplot, so no global figure registry to leak.
        self.figure = Figure(figsize=(8, 3.2), dpi=100)
        FigureCanvasAgg(self.figure)
        self.figure.subplots_adjust(left=0.07, right=0.98, top=0.88, bottom=0.16)
        self.axes = self.figure.add_subplot()
        self.bars = self.axes.bar(range(24), [0] * 24, width=0.8, color=_BAR)
        self.axes.set_xlim(-0.6, 23.6)
        self.axes.set_xticks(range(0, 24, 2))
        self.axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        self.axes.spines[["top", "right"]].set_visible(False)
        self.axes.grid(axis="y", alpha=0.3)
        self.title = self.axes.set_title("", fontsize=11)

    def render(self, counts: Sequence[int], peak: int | None, title: str, xlabel: str) -> bytes:
        for hour, bar in enumerate(self.bars):
            bar.set_height(counts[hour])
            bar.set_color(_PEAK if hour == peak else _BAR)
        self.axes.set_ylim(0, max(1, *counts) * 1.1)
        self.title.set_text(title)
        self.axes.set_xlabel(xlabel, fontsize=9)
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png")
        return buffer.getvalue()


@cache
def _shared_chart() -> _HourlyChart:
    return _HourlyChart()


def render_hourly_chart(summary: OwnerSummary, _: Gettext) -> bytes:
    """A PNG bar chart of the day's check-ins per local hour, the busiest hour highlighted."""
    counts = [summary.hours.get(hour, 0) for hour in range(24)]
    peak = summary.busiest
    title = _("Check-ins by hour · {date}").format(date=summary.day.strftime("%d/%m/%Y"))
    with _CHART_LOCK:
        return _shared_chart().render(counts, peak[0] if peak else None, title, _("Hour of the day"))


async def summary_message(summary: OwnerSummary, owner_id: int, lang: str) -> OutboundMessage:
    """The outbox message for one summary: the chart with the figures, or the nudge."""
    _ = gettext_for(lang)
    meta = {"venue": summary.venue_code, "day": summary.day.isoformat(), "checkins": summary.checkins}
    key = summary_key(summary.venue_code, summary.day)
    if summary.checkins == 0:
        return OutboundMessage(
            key=key, kind=KIND, chat_id=owner_id, text=render_nudge(summary, _), meta={**meta, "nudge": True}
        )
    chart = await asyncio.to_thread(render_hourly_chart, summary, _)
    return OutboundMessage(
        key=key,
        kind=KIND,
        chat_id=owner_id,
        text=render_summary(summary, _, lang),
        photo=chart,
        filename=f"quetma-{summary.venue_code}-{summary.day.isoformat()}.png",
        meta=meta,
    )


@dataclass(frozen=True)
class OwnerSummaries:
    """Queues owners' evening summaries: one message per venue and day, whatever runs it how often."""

    venues: VenueRepo
    checkins: CheckinRepo
    users: UserRepo
    outbox: OutboxRepo
    clock: Clock
    tz: ZoneInfo

    async def queue(self, day: date, hour: int | None) -> int:
        """Queue the summary of every venue whose summary hour is `hour` on local `day`; how many were new.

        With `hour` None (catching up), every venue whose summary hour has come by now. Muted
        owners, deactivated venues and summaries already queued are skipped, so running it twice
        sends nothing twice.
        """
        now = self.clock.now()
        queued = 0
        async for venues in self.venues.with_summaries(hour):
            pending: list[tuple[Venue, int, date, int]] = []
            for venue in venues:
                owner = venue.owner_id
                summary_hour = venue.settings.summary_hour
                if owner is None or (hour is None and due_at(day, summary_hour, self.tz) > now):
                    continue
                covered, until_hour = covered_window(day, summary_hour)
                if await self.outbox.get(summary_key(venue.code, covered)) is not None:
                    continue
                pending.append((venue, owner, covered, until_hour))
            if pending:
                queued += await self.outbox.enqueue_many(await self._messages(pending), now)
        log.info("owner summaries for %s hour %s: %d queued", day, hour, queued)
        return queued

    async def _messages(self, pending: list[tuple[Venue, int, date, int]]) -> list[OutboundMessage]:
        first = min(covered for _, _, covered, _ in pending) - timedelta(days=COMPARISON_DAYS)
        last = max(covered for _, _, covered, _ in pending)
        counters = await self.checkins.venue_days_many(
            [venue.code for venue, _, _, _ in pending], first.isoformat(), last.isoformat()
        )
        owners = list(dict.fromkeys(owner for _, owner, _, _ in pending))
        profiles = await self.users.get_many(owners)
        languages = {
            owner: pick_language(profile.language, profile.telegram_language)
            if (profile := profiles.get(owner))
            else pick_language(None, None)
            for owner in owners
        }
        return [
            await summary_message(
                build_summary(venue, covered, until_hour, counters.get(venue.code, [])),
                owner,
                languages[owner],
            )
            for venue, owner, covered, until_hour in pending
        ]
