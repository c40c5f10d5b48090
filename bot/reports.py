"""Region reports modelled on the city's daily check-in bulletin: figures and their text."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

from bot.i18n import Gettext, format_number
from bot.regions import RegionCatalogue
from storage.counters import INACTIVE_WINDOW_DAYS
from storage.models import RegionDay
from storage.stats import StatsRepo

AVERAGE_DAYS = 7
TOP_CHILDREN = 10
# `quetma report --json` prints exactly these keys, plus `children`.
# `date` and `region` say what the figures are of (the foundation's report); the rest are the bulletin's figures.
JSON_KEYS = (
    "date",
    "region",
    "venues_total",
    "venues_new",
    "venues_new_avg7",
    "venues_with_checkins",
    "venues_with_checkins_delta",
    "checkins",
    "checkins_delta",
    "checkins_avg7",
    "unique_visitors",
    "unique_visitors_delta",
    "unique_visitors_avg7",
    "inactive_venues",
)


@dataclass(frozen=True)
class ChildFigures:
    """One child region in the ranking."""

    region: str
    name: str
    checkins: int
    venues_with_checkins: int
    venues_total: int
    venues_with_checkins_share: float


@dataclass(frozen=True)
class RegionReport:
    """A day's figures for a region."""

    date: str
    region: str
    region_name: str
    venues_total: int
    venues_total_delta: int
    venues_new: int
    venues_new_avg7: float
    venues_with_checkins: int
    venues_with_checkins_delta: int
    checkins: int
    checkins_delta: int
    checkins_avg7: float
    unique_visitors: int
    unique_visitors_delta: int
    unique_visitors_avg7: float
    inactive_venues: int
    children: tuple[ChildFigures, ...]

    def to_json(self) -> dict[str, Any]:
        """Exactly the figures the officials' issue lists, plus the child ranking."""
        data = {key: getattr(self, key) for key in JSON_KEYS}
        data["children"] = [asdict(child) for child in self.children]
        return data


def mean(values: list[int]) -> float:
    return round(sum(values) / len(values), 1) if values else 0.0


def share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


async def venues_total_at(stats: StatsRepo, region: str, day: date) -> int:
    """Active venues in a region at the end of a day."""
    now_total = await stats.venues_active_now(region)
    return now_total - await stats.venue_changes_after(region, day.isoformat())


async def build_report(stats: StatsRepo, regions: RegionCatalogue, region_id: str, day: date) -> RegionReport:
    """Every figure from the daily counters: a handful of index lookups, no check-in scans."""
    region = regions.require(region_id)
    first = day - timedelta(days=AVERAGE_DAYS)
    days = await stats.region_days(region.id, first.isoformat(), day.isoformat())

    def figures(offset: int) -> RegionDay:
        key = (day - timedelta(days=offset)).isoformat()
        return days.get(key) or RegionDay(region=region.id, day=key)

    today, yesterday = figures(0), figures(1)
    week = [figures(offset) for offset in range(AVERAGE_DAYS)]
    total = await venues_total_at(stats, region.id, day)
    total_before = total - (today.venues_new - today.venues_closed + today.venues_reopened)
    recent_new = sum(figures(offset).venues_new for offset in range(INACTIVE_WINDOW_DAYS))
    eligible = total - recent_new
    children = await child_figures(stats, regions, region.id, day)
    return RegionReport(
        date=day.isoformat(),
        region=region.id,
        region_name=region.name,
        venues_total=total,
        venues_total_delta=total - total_before,
        venues_new=today.venues_new,
        venues_new_avg7=mean([d.venues_new for d in week]),
        venues_with_checkins=today.venues_with_checkins,
        venues_with_checkins_delta=today.venues_with_checkins - yesterday.venues_with_checkins,
        checkins=today.checkins,
        checkins_delta=today.checkins - yesterday.checkins,
        checkins_avg7=mean([d.checkins for d in week]),
        unique_visitors=today.visitors,
        unique_visitors_delta=today.visitors - yesterday.visitors,
        unique_visitors_avg7=mean([d.visitors for d in week]),
        inactive_venues=max(0, eligible - today.active3),
        children=tuple(children),
    )


async def child_figures(
    stats: StatsRepo, regions: RegionCatalogue, region_id: str, day: date
) -> list[ChildFigures]:
    """The child regions with the most check-ins on a day, with their share of venues that scanned."""
    top = await stats.children_days(region_id, day.isoformat(), limit=TOP_CHILDREN)
    ranked = []
    for child in top:
        total = await venues_total_at(stats, child.region, day)
        known = regions.get(child.region)
        ranked.append(
            ChildFigures(
                region=child.region,
                name=known.name if known else child.region,
                checkins=child.checkins,
                venues_with_checkins=child.venues_with_checkins,
                venues_total=total,
                venues_with_checkins_share=share(child.venues_with_checkins, total),
            )
        )
    return ranked


def _change(_: Gettext, value: float, lang: str, unit: str) -> str:
    if value > 0:
        return _("up {n} {unit}").format(n=format_number(value, lang), unit=unit)
    if value < 0:
        return _("down {n} {unit}").format(n=format_number(-value, lang), unit=unit)
    return _("unchanged")


def render_report(report: RegionReport, _: Gettext, lang: str) -> str:
    """The bulletin text: 'On 14/10 Hanoi had about 605.000 QR check-in points, ...'."""
    day = date.fromisoformat(report.date)
    d = f"{day.day:02d}/{day.month:02d}"
    prev = day - timedelta(days=1)
    p = f"{prev.day:02d}/{prev.month:02d}"
    n = lambda v: format_number(v, lang)  # noqa: E731 - local shorthand
    points, scans, people = _("points"), _("scans"), _("people")
    lines = [
        _("📊 QR check-in report, {region}, {date}").format(
            region=report.region_name, date=day.strftime("%d/%m/%Y")
        ),
        "",
        _.ngettext(
            "On {d}, {region} had {total} QR check-in point, {change} compared with {p} ({new} new; 7-day average of new points: {avg}).",
            "On {d}, {region} had {total} QR check-in points, {change} compared with {p} ({new} new; 7-day average of new points: {avg}).",
            report.venues_total,
        ).format(
            d=d,
            region=report.region_name,
            total=n(report.venues_total),
            change=_change(_, report.venues_total_delta, lang, points),
            p=p,
            new=n(report.venues_new),
            avg=n(round(report.venues_new_avg7)),  # whole points and people, as the bulletin
        ),
        _.ngettext(
            "{count} point had scans on {d}, {change} compared with {p}.",
            "{count} points had scans on {d}, {change} compared with {p}.",
            report.venues_with_checkins,
        ).format(
            count=n(report.venues_with_checkins),
            d=d,
            change=_change(_, report.venues_with_checkins_delta, lang, points),
            p=p,
        ),
        _.ngettext(
            "{count} scan in the day, {change} compared with {p}; 7-day average {avg}.",
            "{count} scans in the day, {change} compared with {p}; 7-day average {avg}.",
            report.checkins,
        ).format(
            count=n(report.checkins),
            change=_change(_, report.checkins_delta, lang, scans),
            p=p,
            avg=n(round(report.checkins_avg7)),  # whole points and people, as the bulletin
        ),
        _.ngettext(
            "{count} person checked in, {change} compared with {p}; 7-day average {avg}.",
            "{count} people checked in, {change} compared with {p}; 7-day average {avg}.",
            report.unique_visitors,
        ).format(
            count=n(report.unique_visitors),
            change=_change(_, report.unique_visitors_delta, lang, people),
            p=p,
            avg=n(round(report.unique_visitors_avg7)),  # whole points and people, as the bulletin
        ),
        _.ngettext(
            "{count} point registered at least 3 days ago had no scan in the last 3 days.",
            "{count} points registered at least 3 days ago had no scan in the last 3 days.",
            report.inactive_venues,
        ).format(count=n(report.inactive_venues)),
    ]
    if report.children:
        lines += ["", _("Most check-ins:")]
        for rank, child in enumerate(report.children, start=1):
            lines.append(
                _.ngettext(
                    "{rank}. {name}: {checkins} scan, {share}% of points scanned",
                    "{rank}. {name}: {checkins} scans, {share}% of points scanned",
                    child.checkins,
                ).format(
                    rank=rank,
                    name=child.name,
                    checkins=n(child.checkins),
                    share=n(round(child.venues_with_checkins_share * 100, 1)),
                )
            )
    return "\n".join(lines)
