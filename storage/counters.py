"""Anonymous per-venue and per-region daily counters, kept up to date with each write.

Reports read these documents instead of scanning check-ins. The arithmetic here is shared
by the live check-in path and by bulk loading, so both leave exactly the same counters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pymongo import UpdateOne

INACTIVE_WINDOW_DAYS = 3  # "no check-in in the 3 days ending D"


def region_day_id(region: str, day: str) -> str:
    return f"{region}|{day}"


def venue_day_id(code: str, day: str) -> str:
    return f"{code}|{day}"


def visitor_mark(user_id: int, day: str, scopes: list[str], tz: ZoneInfo) -> dict[str, Any]:
    """A person's once-per-day visitor mark: the scopes (`venue:CODE` and regions) they were
    counted in on `day`.

    Only check-ins of that day read it, so it expires when the local day ends: the counters keep
    the figures, and no record of where a person went outlives the day it served.
    """
    following = date.fromisoformat(day) + timedelta(days=1)
    day_end = datetime(following.year, following.month, following.day, tzinfo=tz).astimezone(UTC)
    return {"_id": f"{day}|{user_id}", "scopes": scopes, "user_id": user_id, "expires_at": day_end}


def parent_of(region: str) -> str | None:
    """The parent region id of a path id ("vn/1/4" -> "vn/1"); None for the root."""
    return region.rsplit("/", 1)[0] if "/" in region else None


def active3_days(day: str, created_day: str, previous_last_day: str | None) -> list[str]:
    """Days D whose 3-day window becomes active through a venue's first check-in on `day`.

    A venue counts as active on D when it was registered at least 3 days before D and had a
    check-in in the 3 days ending D. A first check-in on `day` covers D = day .. day+2, minus
    the days already covered by the previous check-in day.
    """
    d = date.fromisoformat(day)
    created = date.fromisoformat(created_day)
    previous = date.fromisoformat(previous_last_day) if previous_last_day else None
    days = []
    for offset in range(INACTIVE_WINDOW_DAYS):
        target = d + timedelta(days=offset)
        if (target - created).days < INACTIVE_WINDOW_DAYS:
            continue
        if previous is not None and (target - previous).days < INACTIVE_WINDOW_DAYS:
            continue
        days.append(target.isoformat())
    return days


def region_day_update(region: str, day: str, inc: dict[str, int]) -> UpdateOne:
    """An upsert adding `inc` to a region's counters for a day."""
    return UpdateOne(
        {"_id": region_day_id(region, day)},
        {
            "$inc": inc,
            "$setOnInsert": {"region": region, "parent": parent_of(region), "day": day},
        },
        upsert=True,
    )


def checkin_region_updates(
    regions: Sequence[str],
    day: str,
    *,
    new_visitor_regions: Iterable[str],
    first_at_venue_today: bool,
    active_days: Sequence[str],
) -> list[UpdateOne]:
    """Region counter updates for one check-in."""
    new_visitors = set(new_visitor_regions)
    updates = []
    for region in regions:
        inc = {
            "checkins": 1,
            "visitors": 1 if region in new_visitors else 0,
            "venues_with_checkins": 1 if first_at_venue_today else 0,
        }
        updates.append(region_day_update(region, day, inc))
        updates.extend(region_day_update(region, target, {"active3": 1}) for target in active_days)
    return updates


def merge_region_incs(incs: dict[tuple[str, str], dict[str, int]]) -> list[UpdateOne]:
    """Bulk form: one upsert per (region, day) with summed increments."""
    return [region_day_update(region, day, inc) for (region, day), inc in incs.items()]


def add_inc(target: dict[str, int], inc: dict[str, int]) -> None:
    for key, value in inc.items():
        if value:
            target[key] = target.get(key, 0) + value


def hour_key(hour: int) -> str:
    return f"h{hour:02d}"


def venue_day_inc(*, hour: int, new_visitor: bool, party: int = 1) -> dict[str, Any]:
    """Venue counter increments for one check-in.

    Visitors and people are also counted by the local hour of the check-in, so a part of a day
    (yesterday up to this hour, for /today) is read from the counters like the whole day.
    """
    key = hour_key(hour)
    return {
        "checkins": 1,
        "visitors": 1 if new_visitor else 0,
        "people": party,
        f"hours.{key}": 1,
        f"visitor_hours.{key}": 1 if new_visitor else 0,
        f"people_hours.{key}": party,
    }


def venue_day_person_inc(hour: int) -> dict[str, int]:
    """Venue counter increments for one more person in a visit begun at this local hour."""
    return {"people": 1, f"people_hours.{hour_key(hour)}": 1}
