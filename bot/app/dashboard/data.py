"""What the dashboard reads and does, through the same use cases as the chat and the CLI.

Every call into the officials' and reports' code goes through this module, so the pages show the
numbers `/report`, `/inactive` and `quetma report --json` show, and a change of where those use
cases live touches this file only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from bot import officials
from bot.app.container import Container
from bot.clock import local_day
from bot.i18n import Gettext
from bot.officials import Access, Actor, BadInput, ExposurePlan, Refused, Trace, Window
from bot.officials.access import NOT_OFFICIAL as NOT_OFFICIAL_TEXT
from bot.officials.access import UNKNOWN_VENUE as UNKNOWN_VENUE_TEXT
from bot.officials.exports import inactive_csv
from bot.officials.exposure import exposure_key
from bot.officials.windows import parse_window as parse_typed_window
from bot.regions import Region
from bot.reports import RegionReport, build_report, render_report, share
from bot.venues import CATEGORIES
from storage.counters import INACTIVE_WINDOW_DAYS
from storage.models import RegionDay, Venue, VenueDay

CHART_DAYS = 30
INACTIVE_DEFAULT_DAYS = officials.INACTIVE_DEFAULT_DAYS
INACTIVE_MAX_DAYS = officials.INACTIVE_MAX_DAYS
NOT_OFFICIAL = NOT_OFFICIAL_TEXT
UNKNOWN_VENUE = UNKNOWN_VENUE_TEXT

__all__ = [
    "CATEGORIES",
    "Access",
    "Actor",
    "BadInput",
    "ExposurePlan",
    "Refused",
    "RegionReport",
    "Trace",
    "Window",
]


async def access_of(container: Container, user_id: int) -> Access | None:
    """The person's access (admins: the country; officials: their region), None for anyone else."""
    return await container.officials.access.access_of(user_id)


async def actor_of(container: Container, user_id: int) -> Actor:
    """Who acts, named as the audit log of the chat names them."""
    official = await container.repos.officials.get(user_id)
    if official is not None and official.name:
        return Actor(user_id, official.name)
    profile = await container.repos.users.get(user_id)
    return Actor(user_id, profile.display_name if profile else "")


def within(container: Container, region_id: str, scope: str) -> bool:
    return container.regions.is_within(region_id, scope)


def region_label(container: Container, region_id: str) -> str:
    return container.officials.access.label(region_id)


def today(container: Container) -> date:
    return local_day(container.clock.now(), container.settings.tz)


async def region_report(container: Container, region_id: str, day: date) -> RegionReport:
    """The bulletin's figures: exactly what `/report` and `quetma report --json` show."""
    return await build_report(container.repos.stats, container.regions, region_id, day)


def report_text(report: RegionReport, _: Gettext, lang: str) -> str:
    return render_report(report, _, lang)


@dataclass(frozen=True)
class DayPoint:
    """One day of the 30-day chart."""

    day: str
    checkins: int
    visitors: int
    venues_with_checkins: int


async def daily_series(
    container: Container, region_id: str, last: date, days: int = CHART_DAYS
) -> list[DayPoint]:
    """Scans, people and points with scans for each of the `days` days ending `last` (zeros included)."""
    first = last - timedelta(days=days - 1)
    stored = await container.repos.stats.region_days(region_id, first.isoformat(), last.isoformat())
    points = []
    for offset in range(days):
        key = (first + timedelta(days=offset)).isoformat()
        found = stored.get(key) or RegionDay(region=region_id, day=key)
        points.append(DayPoint(key, found.checkins, found.visitors, found.venues_with_checkins))
    return points


@dataclass(frozen=True)
class ChildRow:
    """One child region on a day, with the bulletin's arithmetic."""

    region: str
    name: str
    checkins: int
    visitors: int
    venues_with_checkins: int
    venues_total: int
    venues_with_checkins_share: float
    inactive_venues: int


async def child_rows(container: Container, region_id: str, day: date) -> list[ChildRow]:
    """Every child region of a region on a day: two lookups whatever the number of children.

    Totals at the end of `day` and inactive points follow `bot.reports.build_report`: active venues now
    minus the net changes after the day; eligible venues minus those active in the 3-day window.
    """
    children = container.regions.children(region_id)
    if not children:
        return []
    first = day - timedelta(days=INACTIVE_WINDOW_DAYS - 1)
    docs = await container.repos.stats.children_since(region_id, first.isoformat())
    now_totals = await container.repos.stats.venues_active_now_many([child.id for child in children])
    by_child: dict[str, dict[str, RegionDay]] = {}
    for doc in docs:
        by_child.setdefault(doc.region, {})[doc.day] = doc
    key = day.isoformat()
    rows = []
    for child in children:
        days = by_child.get(child.id, {})
        after = sum(d.venues_new - d.venues_closed + d.venues_reopened for k, d in days.items() if k > key)
        total = now_totals[child.id] - after
        recent_new = sum(d.venues_new for k, d in days.items() if k <= key)
        figures = days.get(key) or RegionDay(region=child.id, day=key)
        rows.append(
            ChildRow(
                region=child.id,
                name=child.name,
                checkins=figures.checkins,
                visitors=figures.visitors,
                venues_with_checkins=figures.venues_with_checkins,
                venues_total=total,
                venues_with_checkins_share=share(figures.venues_with_checkins, total),
                inactive_venues=max(0, total - recent_new - figures.active3),
            )
        )
    return rows


def child_regions(container: Container, region_id: str) -> list[Region]:
    return container.regions.children(region_id)


async def follow_up(container: Container, region_id: str, days: int) -> list[Venue]:
    """The `/inactive` list: venues registered `days` days ago or more, without a scan in the last `days` days."""
    return await container.officials.inactive.in_region(region_id, days, today(container))


async def owners_reachable(container: Container, venues: Sequence[Venue]) -> dict[int, bool]:
    return await container.officials.inactive.owners_reachable(venues)


def follow_up_csv(
    container: Container, _: Gettext, venues: Sequence[Venue], reachable: dict[int, bool]
) -> bytes:
    """The same formula-safe CSV the chat sends, counted as of today like the chat's /inactive."""
    return inactive_csv(_, container.regions, venues, reachable, today(container))


async def record_export(container: Container, actor: Actor, region_id: str, rows: int, days: int) -> None:
    """An export is written to the audit log, as the chat's traces are."""
    await container.officials.audit.record(
        actor, "export", region=region_id, rows=rows, detail=f"inactive {days}d, web"
    )


async def venue_in_scope(container: Container, access: Access, code: str) -> Venue:
    """A venue the person may see (raises BadInput when unknown, Refused when outside their region)."""
    return await container.officials.access.require_venue(access, code)


async def venue_days(container: Container, code: str, last: date, days: int = CHART_DAYS) -> list[VenueDay]:
    """A venue's counters for each of the `days` days ending `last` (zeros included)."""
    first = last - timedelta(days=days - 1)
    stored = {
        found.day: found
        for found in await container.repos.checkins.venue_days(code, first.isoformat(), last.isoformat())
    }
    keys = [(first + timedelta(days=offset)).isoformat() for offset in range(days)]
    return [stored.get(key) or VenueDay(venue_code=code, day=key) for key in keys]


def parse_window(container: Container, text: str, *, command: str) -> Window:
    """`FROM TO` in local time, checked as the chat checks it (raises BadInput)."""
    return parse_typed_window(text, container.settings.tz, now=container.clock.now(), command=command)


async def run_trace(container: Container, access: Access, actor: Actor, code: str, window: Window) -> Trace:
    """Who was at a venue in a window; written to the audit log (raises Refused outside the region)."""
    return await container.officials.tracing.trace_visits(access, actor, code, window)


def trace_csv(container: Container, _: Gettext, trace: Trace) -> bytes:
    return officials.trace_csv(_, trace.visits, trace.profiles, container.settings.tz, container.clock.now())


def trace_filename(container: Container, trace: Trace) -> str:
    """The chat's file name for a trace."""
    return f"trace-{trace.venue.code}-{trace.window.start.astimezone(container.settings.tz):%Y%m%d-%H%M}.csv"


async def plan_exposure(container: Container, access: Access, code: str, window: Window) -> ExposurePlan:
    return await container.officials.exposure.plan_exposure(access, code, window)


async def send_exposure(container: Container, access: Access, actor: Actor, code: str, window: Window) -> int:
    """Queue the alerts (each person once, ever); written to the audit log. The number newly queued."""
    sent = await container.officials.exposure.send_exposure_alerts(access, actor, code, window)
    return sent.queued


@dataclass(frozen=True)
class AlertProgress:
    """Where the exposure alerts about a venue and window stand in the outbox."""

    queued: int
    sent: int
    undelivered: int  # failed after retries, or dropped: the person blocked the bot or left Telegram

    @property
    def total(self) -> int:
        return self.queued + self.sent + self.undelivered


async def alert_progress(container: Container, access: Access, code: str, window: Window) -> AlertProgress:
    """The delivery of the alerts sent about a venue and window (raises Refused outside the region).

    An alert's key names the person's first visit it covers, so the keys of every visit in the window
    find every alert about it, however many times the form was sent.
    """
    venue = await container.officials.access.require_venue(access, code)
    visits = await container.repos.checkins.overlapping(venue.code, window.start, window.end)
    keys = [exposure_key(venue.code, visit.user_id, visit.id) for visit in visits]
    states = list((await container.repos.outbox.states(keys)).values()) if keys else []
    sent = states.count("sent")
    undelivered = states.count("failed") + states.count("dropped")
    return AlertProgress(queued=len(states) - sent - undelivered, sent=sent, undelivered=undelivered)
