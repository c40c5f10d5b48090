"""Venues: registration, lookup, ownership, settings and activation."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, replace
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, IndexModel, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from storage.atomic import update_and_fetch
from storage.counters import region_day_update
from storage.errors import Conflict, NotFound
from storage.models import CapacityAlarm, NewVenue, Venue, VenueSettings

Doc = dict[str, Any]

VENUE_INDEXES = [
    IndexModel([("owner_id", ASCENDING)]),
    IndexModel([("staff_ids", ASCENDING)]),
    IndexModel([("regions", ASCENDING), ("last_checkin_day", ASCENDING)]),
    IndexModel([("settings.summary_hour", ASCENDING), ("active", ASCENDING)]),
]


def venue_from_doc(doc: Doc) -> Venue:
    settings = doc.get("settings") or {}
    return Venue(
        code=doc["_id"],
        name=doc["name"],
        address=doc["address"],
        category=doc.get("category", "other"),
        regions=tuple(doc["regions"]),
        capacity=doc.get("capacity"),
        owner_id=doc.get("owner_id"),
        staff_ids=tuple(doc.get("staff_ids", ())),
        active=doc.get("active", True),
        created_at=doc["created_at"],
        created_day=doc["created_day"],
        settings=VenueSettings(
            **{k: v for k, v in settings.items() if k in VenueSettings.__dataclass_fields__}
        ),
        last_checkin_day=doc.get("last_checkin_day"),
        capacity_alarm=_alarm_from_doc(doc.get("capacity_alarm")),
    )


def _alarm_from_doc(doc: Doc | None) -> CapacityAlarm | None:
    if not doc:
        return None
    return CapacityAlarm(last_alert_at=doc["last_alert_at"], day=doc["day"], count=doc["count"])


def venue_doc(code: str, new: NewVenue, now: datetime, day: str) -> Doc:
    return {
        "_id": code,
        "name": new.name,
        "address": new.address,
        "category": new.category,
        "regions": list(new.regions),
        "capacity": new.capacity,
        "owner_id": new.owner_id,
        "staff_ids": [],
        "active": True,
        "created_at": now,
        "created_day": day,
        "settings": asdict(VenueSettings()),
        "last_checkin_day": None,
    }


class VenueRepo:
    """The `venues` collection and the venue counters in `region_days` / `region_totals`."""

    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._venues = db["venues"]
        self._region_days = db["region_days"]
        self._totals = db["region_totals"]

    async def ensure_indexes(self) -> None:
        await self._venues.create_indexes(VENUE_INDEXES)

    async def create(
        self, new: NewVenue, *, now: datetime, day: str, new_code: Callable[[], str], code: str | None = None
    ) -> Venue:
        """Register a venue with a fresh code (or the given one) and count it in its regions."""
        for _ in range(8):
            candidate = code or new_code()
            doc = venue_doc(candidate, new, now, day)
            try:
                await self._venues.insert_one(doc)
            except DuplicateKeyError:
                if code is not None:
                    raise Conflict(f"venue code {code} is taken") from None
                continue
            await self._count_change(new.regions, day, "venues_new", +1)
            return venue_from_doc(doc)
        raise Conflict("could not find a free venue code")

    async def _count_change(self, regions: tuple[str, ...], day: str, field: str, delta: int) -> None:
        await self._region_days.bulk_write(
            [region_day_update(region, day, {field: 1}) for region in regions], ordered=False
        )
        await self._totals.bulk_write(
            [_total_update(region, delta) for region in regions],
            ordered=False,
        )

    async def get(self, code: str) -> Venue | None:
        doc = await self._venues.find_one({"_id": code})
        return venue_from_doc(doc) if doc else None

    async def require(self, code: str) -> Venue:
        venue = await self.get(code)
        if venue is None:
            raise NotFound(code)
        return venue

    async def find(self, *, region: str | None = None, limit: int = 0, skip: int = 0) -> list[Venue]:
        query: Doc = {"regions": region} if region else {}
        cursor = self._venues.find(query).sort("_id", ASCENDING).skip(skip).limit(limit)
        return [venue_from_doc(doc) async for doc in cursor]

    async def for_member(self, user_id: int) -> list[Venue]:
        """Venues a user owns or is staff of."""
        cursor = self._venues.find({"$or": [{"owner_id": user_id}, {"staff_ids": user_id}]}).sort(
            "created_at"
        )
        return [venue_from_doc(doc) async for doc in cursor]

    async def set_active(self, code: str, active: bool, *, day: str) -> Venue:
        """Deactivate or reactivate a venue; nothing is deleted."""
        before = await self._venues.find_one({"_id": code})
        if before is None:
            raise NotFound(code)
        venue = venue_from_doc(before)
        # Only the request that actually flips the flag counts the change.
        flipped = await self._venues.update_one(
            {"_id": code, "active": not active}, {"$set": {"active": active}}
        )
        if flipped.modified_count == 1:
            field = "venues_reopened" if active else "venues_closed"
            await self._count_change(venue.regions, day, field, +1 if active else -1)
        return replace(venue, active=active)

    async def update_settings(self, code: str, settings: VenueSettings) -> Venue:
        doc = await update_and_fetch(self._venues, {"_id": code}, {"$set": {"settings": asdict(settings)}})
        if doc is None:
            raise NotFound(code)
        return venue_from_doc(doc)

    async def update_fields(self, code: str, **fields: Any) -> Venue:
        """Change plain fields (name, address, capacity, category)."""
        allowed = {"name", "address", "capacity", "category"}
        if not set(fields) <= allowed:
            raise ValueError(f"cannot update {set(fields) - allowed}")
        doc = await update_and_fetch(self._venues, {"_id": code}, {"$set": fields})
        if doc is None:
            raise NotFound(code)
        return venue_from_doc(doc)

    async def add_staff(self, code: str, user_id: int) -> Venue:
        doc = await update_and_fetch(self._venues, {"_id": code}, {"$addToSet": {"staff_ids": user_id}})
        if doc is None:
            raise NotFound(code)
        return venue_from_doc(doc)

    async def remove_staff(self, code: str, user_id: int) -> Venue:
        """Take one person off a venue's staff; NotFound when they were not staff (or no such venue).

        The match includes the person, so of two removals racing, only one succeeds.
        """
        doc = await update_and_fetch(
            self._venues, {"_id": code, "staff_ids": user_id}, {"$pull": {"staff_ids": user_id}}
        )
        if doc is None:
            raise NotFound(code)
        return venue_from_doc(doc)

    async def forget_staff(self, user_id: int) -> int:
        """Take a person off the staff of every venue (they asked to be forgotten); how many venues."""
        result = await self._venues.update_many({"staff_ids": user_id}, {"$pull": {"staff_ids": user_id}})
        return result.modified_count

    async def mark_checkin_day(self, code: str, day: str) -> None:
        """Remember the latest local day with a check-in (never moves backwards)."""
        await self._venues.update_one({"_id": code}, {"$max": {"last_checkin_day": day}})

    async def record_capacity_alert(
        self, code: str, *, previous: CapacityAlarm | None, at: datetime, day: str
    ) -> CapacityAlarm | None:
        """Note a capacity alert unless another one was noted since `previous`; the new alarm or None."""
        count = previous.count + 1 if previous is not None and previous.day == day else 1
        alarm = CapacityAlarm(last_alert_at=at, day=day, count=count)
        expected = previous.last_alert_at if previous is not None else None
        result = await self._venues.update_one(
            {"_id": code, "capacity_alarm.last_alert_at": expected},
            {"$set": {"capacity_alarm": asdict(alarm)}},
        )
        return alarm if result.modified_count == 1 else None

    async def with_summaries(self, hour: int | None, batch: int = 500) -> AsyncIterator[list[Venue]]:
        """Active venues with an owner and summaries on, whose summary hour is `hour` (any when None)."""
        query: Doc = {"active": True, "owner_id": {"$ne": None}, "settings.summaries_muted": {"$ne": True}}
        if hour is not None:
            query["settings.summary_hour"] = hour
        chunk: list[Venue] = []
        async for doc in self._venues.find(query).sort("_id", ASCENDING):
            chunk.append(venue_from_doc(doc))
            if len(chunk) >= batch:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    async def count(self, *, region: str | None = None, active: bool | None = None) -> int:
        query: Doc = {}
        if region:
            query["regions"] = region
        if active is not None:
            query["active"] = active
        return await self._venues.count_documents(query)

    async def inactive(self, region: str, *, registered_by: str, no_checkin_since: str) -> list[Venue]:
        """Active venues of a region registered on or before a day, without a check-in on or after another.

        Two lookups on the (regions, last_checkin_day) index: venues that never scanned, and those whose
        latest check-in day is older; the other conditions are checked here because more predicates make
        the embedded server's planner fall back to a collection scan. Sorted by ward, then code.
        """
        found: list[Venue] = []
        for last_day in (None, {"$gte": "", "$lt": no_checkin_since}):
            cursor = self._venues.find({"regions": region, "last_checkin_day": last_day})
            async for doc in cursor:
                if doc.get("active", True) and doc["created_day"] <= registered_by:
                    found.append(venue_from_doc(doc))
        found.sort(key=lambda venue: (venue.regions, venue.code))
        return found


def _total_update(region: str, delta: int) -> UpdateOne:
    return UpdateOne({"_id": region}, {"$inc": {"venues_active": delta}}, upsert=True)
