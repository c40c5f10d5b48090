"""Reads of the anonymous daily counters for reports (index lookups only)."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from storage.models import RegionDay

Doc = dict[str, Any]
REGION_DAY_FIELDS = (
    "checkins",
    "visitors",
    "venues_with_checkins",
    "venues_new",
    "venues_closed",
    "venues_reopened",
    "active3",
)


def region_day_from_doc(doc: Doc) -> RegionDay:
    return RegionDay(region=doc["region"], day=doc["day"], **{f: doc.get(f, 0) for f in REGION_DAY_FIELDS})


class StatsRepo:
    """Read side of `region_days` and `region_totals`."""

    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._region_days = db["region_days"]
        self._totals = db["region_totals"]

    async def ensure_indexes(self) -> None:
        """Indexes are declared with the check-in counters."""

    async def region_days(self, region: str, first_day: str, last_day: str) -> dict[str, RegionDay]:
        """A region's counters for each stored day in [first_day, last_day]."""
        cursor = self._region_days.find({"region": region, "day": {"$gte": first_day, "$lte": last_day}})
        return {doc["day"]: region_day_from_doc(doc) async for doc in cursor}

    async def venue_changes_after(self, region: str, day: str) -> int:
        """Net change of active venues in a region on the days after `day` (up to now)."""
        cursor = self._region_days.find(
            {"region": region, "day": {"$gt": day}},
            projection={"venues_new": 1, "venues_closed": 1, "venues_reopened": 1},
        )
        total = 0
        async for doc in cursor:
            total += doc.get("venues_new", 0) - doc.get("venues_closed", 0) + doc.get("venues_reopened", 0)
        return total

    async def venues_active_now(self, region: str) -> int:
        doc = await self._totals.find_one({"_id": region})
        return int(doc["venues_active"]) if doc else 0

    async def venues_active_now_many(self, regions: list[str]) -> dict[str, int]:
        cursor = self._totals.find({"_id": {"$in": regions}})
        found = {doc["_id"]: int(doc["venues_active"]) async for doc in cursor}
        return {region: found.get(region, 0) for region in regions}

    async def children_days(self, parent: str, day: str, limit: int = 10) -> list[RegionDay]:
        """Child regions' counters on a day, most check-ins first."""
        cursor = (
            self._region_days.find({"parent": parent, "day": day, "checkins": {"$gt": 0}})
            .sort([("checkins", DESCENDING), ("region", ASCENDING)])
            .limit(limit)
        )
        return [region_day_from_doc(doc) async for doc in cursor]

    async def children_since(self, parent: str, first_day: str) -> list[RegionDay]:
        """Every child region's counters from `first_day` on (one lookup on the parent/day index)."""
        cursor = self._region_days.find({"parent": parent, "day": {"$gte": first_day}})
        return [region_day_from_doc(doc) async for doc in cursor]
