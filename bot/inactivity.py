"""Inactive venues counted per province: what the scheduler keeps each night for /metrics and operators."""

from __future__ import annotations

from datetime import date, timedelta

from bot.regions import RegionCatalogue
from bot.reports import venues_total_at
from storage.counters import INACTIVE_WINDOW_DAYS
from storage.stats import StatsRepo


async def inactive_counts(stats: StatsRepo, regions: RegionCatalogue, day: date) -> dict[str, int]:
    """Venues registered 3+ days before `day` without a check-in in the 3 days ending `day`.

    For the country and each province: the same arithmetic as the officials' report.
    """
    first = (day - timedelta(days=INACTIVE_WINDOW_DAYS - 1)).isoformat()
    counts: dict[str, int] = {}
    for region in [regions.country(), *regions.provinces()]:
        days = await stats.region_days(region.id, first, day.isoformat())
        total = await venues_total_at(stats, region.id, day)
        if total == 0 and not days:
            continue
        recent_new = sum(d.venues_new for d in days.values())
        today = days.get(day.isoformat())
        active = today.active3 if today else 0
        counts[region.id] = max(0, total - recent_new - active)
    return counts
