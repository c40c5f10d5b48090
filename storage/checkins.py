"""Personal check-ins (visits) and the anonymous counters each one updates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from storage.atomic import update_and_fetch
from storage.counters import (
    active3_days,
    checkin_region_updates,
    hour_key,
    venue_day_id,
    venue_day_inc,
    venue_day_person_inc,
    visitor_mark,
)
from storage.models import HealthAnswers, Venue, VenueDay, Visit

Doc = dict[str, Any]

# The check-in rule (bot.checkins): a re-scan this soon continues the visit; bulk loading applies it too.
RESCAN_WINDOW = timedelta(minutes=30)
MAX_PARTY = 10
MAX_VISIT_LENGTH = timedelta(days=1)  # auto check-out is capped at 24 hours

VISIT_INDEXES = [
    IndexModel([("user_id", ASCENDING), ("checkin_at", DESCENDING)]),
    IndexModel([("venue_code", ASCENDING), ("checkin_at", ASCENDING)]),
    IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0),
    IndexModel([("checkout_at", ASCENDING), ("auto_checkout_at", ASCENDING)]),  # the auto check-out sweep
]
VISITOR_DAY_INDEXES = [
    IndexModel([("user_id", ASCENDING)]),
    IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0),
]
VENUE_DAY_INDEXES = [IndexModel([("venue_code", ASCENDING), ("day", ASCENDING)])]
REGION_DAY_INDEXES = [
    IndexModel([("region", ASCENDING), ("day", ASCENDING)]),
    IndexModel([("parent", ASCENDING), ("day", ASCENDING), ("checkins", DESCENDING)]),
]


def visit_from_doc(doc: Doc) -> Visit:
    health = doc.get("health")
    return Visit(
        id=str(doc["_id"]),
        venue_code=doc["venue_code"],
        venue_name=doc.get("venue_name", ""),
        user_id=doc["user_id"],
        day=doc["day"],
        checkin_at=doc["checkin_at"],
        auto_checkout_at=doc["auto_checkout_at"],
        checkout_at=doc.get("checkout_at"),
        party=doc.get("party", 1),
        health=HealthAnswers(**health) if health else None,
        health_skipped=doc.get("health_skipped", False),
        auto_checked_out=doc.get("auto_checked_out", False),
    )


def _by_hour(counts: Doc | None) -> dict[int, int]:
    return {int(k[1:]): v for k, v in (counts or {}).items()}


def venue_day_from_doc(doc: Doc) -> VenueDay:
    return VenueDay(
        venue_code=doc["venue_code"],
        day=doc["day"],
        checkins=doc.get("checkins", 0),
        visitors=doc.get("visitors", 0),
        people=doc.get("people", 0),
        hours=_by_hour(doc.get("hours")),
        visitor_hours=_by_hour(doc.get("visitor_hours")),
        people_hours=_by_hour(doc.get("people_hours")),
        declared=doc.get("declared", 0),
        declaration_answered=doc.get("declaration_answered", 0),
        declaration_skipped=doc.get("declaration_skipped", 0),
    )


def _object_id(visit_id: str) -> ObjectId | None:
    try:
        return ObjectId(visit_id)
    except (InvalidId, TypeError):
        return None


def visitor_scopes(venue: Venue) -> list[str]:
    """What a person is counted once per day in: each region of the venue, and the venue."""
    return [*venue.regions, f"venue:{venue.code}"]


@dataclass(frozen=True)
class VisitDraft:
    """A check-in about to be stored (shared by the live path and bulk loading)."""

    venue: Venue
    user_id: int
    at: datetime
    party: int = 1


def visit_doc(draft: VisitDraft, *, tz: ZoneInfo, retention: timedelta) -> Doc:
    local = draft.at.astimezone(tz)
    venue = draft.venue
    return {
        "_id": ObjectId(),
        "venue_code": venue.code,
        "venue_name": venue.name,
        "regions": list(venue.regions),
        "user_id": draft.user_id,
        "day": local.date().isoformat(),
        "hour": local.hour,
        "checkin_at": draft.at,
        "auto_checkout_at": draft.at + timedelta(minutes=venue.settings.auto_checkout_minutes),
        "checkout_at": None,
        "party": draft.party,
        "expires_at": draft.at + retention,
    }


class CheckinRepo:
    """The `visits` collection plus `visitor_days`, `venue_days` and `region_days` counters."""

    def __init__(self, db: AsyncDatabase[Doc], *, tz: ZoneInfo, retention_days: int) -> None:
        self._db = db
        self._visits = db["visits"]
        self._visitor_days = db["visitor_days"]
        self._venue_days = db["venue_days"]
        self._region_days = db["region_days"]
        self._venues = db["venues"]
        self._tz = tz
        self._retention = timedelta(days=retention_days)

    async def ensure_indexes(self) -> None:
        await self._visits.create_indexes(VISIT_INDEXES)
        await self._visitor_days.create_indexes(VISITOR_DAY_INDEXES)
        await self._venue_days.create_indexes(VENUE_DAY_INDEXES)
        await self._region_days.create_indexes(REGION_DAY_INDEXES)

    async def latest_at_venue(self, user_id: int, venue_code: str, since: datetime) -> Visit | None:
        """A person's newest visit at a venue begun at or after `since`."""
        doc = await self._visits.find_one(
            {"user_id": user_id, "venue_code": venue_code, "checkin_at": {"$gte": since}},
            sort=[("checkin_at", DESCENDING)],
        )
        return visit_from_doc(doc) if doc else None

    async def reopen(self, visit_id: str) -> Visit | None:
        """Clear a visit's check-out; None when the visit is gone."""
        oid = _object_id(visit_id)
        if oid is None:
            return None
        doc = await update_and_fetch(self._visits, {"_id": oid}, {"$set": {"checkout_at": None}})
        return visit_from_doc(doc) if doc else None

    async def end_open_visits(self, user_id: int, now: datetime, *, keep: str | None = None) -> int:
        """Check a person out of every open visit but `keep`, at `now`; how many were ended."""
        query: Doc = {"user_id": user_id, "checkout_at": None, "auto_checkout_at": {"$gt": now}}
        kept = _object_id(keep) if keep is not None else None
        if kept is not None:
            query["_id"] = {"$ne": kept}
        result = await self._visits.update_many(query, {"$set": {"checkout_at": now}})
        return result.modified_count

    async def record_visit(self, venue: Venue, user_id: int, now: datetime) -> Visit:
        """Store a new visit and count it in the venue's and regions' anonymous counters."""
        doc = visit_doc(VisitDraft(venue, user_id, now), tz=self._tz, retention=self._retention)
        await self._visits.insert_one(doc)
        await self._count_checkin(venue, user_id, doc["day"], doc["hour"])
        return visit_from_doc(doc)

    async def _count_checkin(self, venue: Venue, user_id: int, day: str, hour: int) -> None:
        new_scopes = await self._mark_visitor(visitor_mark(user_id, day, visitor_scopes(venue), self._tz))
        # The upsert that creates the venue's counters for the day is its first check-in of the day.
        created = await self._venue_days.update_one(
            {"_id": venue_day_id(venue.code, day)},
            {
                "$inc": venue_day_inc(hour=hour, new_visitor=f"venue:{venue.code}" in new_scopes),
                "$setOnInsert": {"venue_code": venue.code, "day": day, "regions": list(venue.regions)},
            },
            upsert=True,
        )
        first_today = created.upserted_id is not None
        active_days: list[str] = []
        if first_today:
            # Only this check-in is first at the venue today: nothing else moves the day meanwhile.
            stored = await self._venues.find_one({"_id": venue.code}, projection={"last_checkin_day": 1})
            last = stored.get("last_checkin_day") if stored else venue.last_checkin_day
            await self._venues.update_one({"_id": venue.code}, {"$max": {"last_checkin_day": day}})
            active_days = active3_days(day, venue.created_day, last if last and last < day else None)
        await self._region_days.bulk_write(
            checkin_region_updates(
                venue.regions,
                day,
                new_visitor_regions=new_scopes,
                first_at_venue_today=first_today,
                active_days=active_days,
            ),
            ordered=False,
        )

    async def _mark_visitor(self, mark: dict[str, Any]) -> list[str]:
        """Add a person's scopes for the day; the ones that were new (counted once per day each).

        Most check-ins are a person's first of the day, so the mark is inserted straight away (one
        command). When the day's mark exists it is read, then written only if none of the new
        scopes appeared meanwhile, retrying when a concurrent check-in of the person got there first.
        """
        key, scopes = mark["_id"], mark["scopes"]
        if await self._insert_new(self._visitor_days, mark):
            return scopes
        while True:
            doc = await self._visitor_days.find_one({"_id": key}, projection={"scopes": 1})
            if doc is None:  # the mark expired or was forgotten meanwhile: start it again
                if await self._insert_new(self._visitor_days, mark):
                    return scopes
                continue
            seen = set(doc["scopes"])
            new = [scope for scope in scopes if scope not in seen]
            if not new:
                return []
            added = await self._visitor_days.update_one(
                {"_id": key, "scopes": {"$nin": new}}, {"$addToSet": {"scopes": {"$each": new}}}
            )
            if added.modified_count == 1:
                return new

    @staticmethod
    async def _insert_new(collection: AsyncCollection[dict[str, Any]], doc: dict[str, Any]) -> bool:
        """Insert `doc`; False when a document with its `_id` already exists."""
        try:
            await collection.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def get(self, visit_id: str) -> Visit | None:
        oid = _object_id(visit_id)
        doc = await self._visits.find_one({"_id": oid}) if oid else None
        return visit_from_doc(doc) if doc else None

    async def check_out(self, visit_id: str, user_id: int, now: datetime) -> Visit | None:
        """End a user's own open visit; None when there is no such open visit."""
        oid = _object_id(visit_id)
        if oid is None:
            return None
        doc = await update_and_fetch(
            self._visits,
            {"_id": oid, "user_id": user_id, "checkout_at": None, "auto_checkout_at": {"$gt": now}},
            {"$set": {"checkout_at": now}},
        )
        return visit_from_doc(doc) if doc else None

    async def open_visits(self, user_id: int, now: datetime) -> list[Visit]:
        """A user's visits still in progress, newest first."""
        cursor = self._visits.find(
            {"user_id": user_id, "checkout_at": None, "auto_checkout_at": {"$gt": now}},
            sort=[("checkin_at", DESCENDING)],
        )
        return [visit_from_doc(doc) async for doc in cursor]

    async def add_person(self, visit_id: str, user_id: int, now: datetime) -> Visit | None:
        """Count one more person (a child, a parent without a phone) in a user's own open visit."""
        oid = _object_id(visit_id)
        if oid is None:
            return None
        doc = await update_and_fetch(
            self._visits,
            {
                "_id": oid,
                "user_id": user_id,
                "party": {"$lt": MAX_PARTY},
                "checkout_at": None,
                "auto_checkout_at": {"$gt": now},
            },
            {"$inc": {"party": 1}},
        )
        if doc is None:
            return None
        await self._venue_days.update_one(
            {"_id": venue_day_id(doc["venue_code"], doc["day"])}, {"$inc": venue_day_person_inc(doc["hour"])}
        )
        return visit_from_doc(doc)

    async def remove_person(self, visit_id: str, user_id: int, now: datetime) -> Visit | None:
        """Take back a person added by mistake: the party shrinks by one, never below the person."""
        oid = _object_id(visit_id)
        if oid is None:
            return None
        doc = await update_and_fetch(
            self._visits,
            {
                "_id": oid,
                "user_id": user_id,
                "party": {"$gt": 1},
                "checkout_at": None,
                "auto_checkout_at": {"$gt": now},
            },
            {"$inc": {"party": -1}},
        )
        if doc is None:
            return None
        taken_back = {field: -amount for field, amount in venue_day_person_inc(doc["hour"]).items()}
        await self._venue_days.update_one(
            {"_id": venue_day_id(doc["venue_code"], doc["day"])}, {"$inc": taken_back}
        )
        return visit_from_doc(doc)

    async def record_health(
        self, visit_id: str, user_id: int, answers: HealthAnswers, *, skipped: bool
    ) -> Visit | None:
        """Store a health declaration with the visit (it expires with it) and count it anonymously."""
        oid = _object_id(visit_id)
        if oid is None:
            return None
        doc = await update_and_fetch(
            self._visits,
            {"_id": oid, "user_id": user_id, "health_done": {"$ne": True}},
            {
                "$set": {
                    "health": None
                    if skipped
                    else {k: getattr(answers, k) for k in ("symptoms", "contact", "travel")},
                    "health_skipped": skipped,
                    "health_done": True,
                }
            },
        )
        if doc is None:
            return None
        inc = {
            "declaration_answered": 0 if skipped else 1,
            "declared": 1 if answers.any_yes and not skipped else 0,
        }
        inc["declaration_skipped"] = 1 if skipped else 0
        await self._venue_days.update_one({"_id": venue_day_id(doc["venue_code"], doc["day"])}, {"$inc": inc})
        return visit_from_doc(doc)

    async def auto_check_out(self, now: datetime) -> int:
        """Close every visit past its automatic check-out time (the sweep); how many were closed."""
        result = await self._visits.update_many(
            {"checkout_at": None, "auto_checkout_at": {"$lte": now}},
            [{"$set": {"checkout_at": "$auto_checkout_at", "auto_checked_out": True}}],
        )
        return result.modified_count

    async def history(self, user_id: int, since: datetime, limit: int = 50) -> list[Visit]:
        cursor = self._visits.find(
            {"user_id": user_id, "checkin_at": {"$gte": since}},
            sort=[("checkin_at", DESCENDING)],
            limit=limit,
        )
        return [visit_from_doc(doc) async for doc in cursor]

    async def forget_user(self, user_id: int) -> int:
        """Delete a person's visits and daily presence marks; anonymous counters stay."""
        result = await self._visits.delete_many({"user_id": user_id})
        await self._visitor_days.delete_many({"user_id": user_id})
        return result.deleted_count

    async def overlapping(
        self, venue_code: str, start: datetime, end: datetime, limit: int = 100_000
    ) -> list[Visit]:
        """Visits at a venue whose time there overlaps [start, end)."""
        cursor = self._visits.find(
            {"venue_code": venue_code, "checkin_at": {"$gte": start - MAX_VISIT_LENGTH, "$lt": end}},
            sort=[("checkin_at", ASCENDING)],
        )
        visits = []
        async for doc in cursor:
            visit = visit_from_doc(doc)
            if visit.ended_at > start:
                visits.append(visit)
                if len(visits) >= limit:
                    break
        return visits

    async def venue_visits_since(self, venue_code: str, since: datetime) -> list[Visit]:
        cursor = self._visits.find({"venue_code": venue_code, "checkin_at": {"$gte": since}})
        return [visit_from_doc(doc) async for doc in cursor]

    async def venue_day(self, venue_code: str, day: str) -> VenueDay:
        doc = await self._venue_days.find_one({"_id": venue_day_id(venue_code, day)})
        return venue_day_from_doc(doc) if doc else VenueDay(venue_code=venue_code, day=day)

    async def venue_days(self, venue_code: str, first_day: str, last_day: str) -> list[VenueDay]:
        cursor = self._venue_days.find(
            {"venue_code": venue_code, "day": {"$gte": first_day, "$lte": last_day}}
        )
        return [venue_day_from_doc(doc) async for doc in cursor]

    async def venue_days_many(
        self, venue_codes: list[str], first_day: str, last_day: str
    ) -> dict[str, list[VenueDay]]:
        """Several venues' counters for the days in [first_day, last_day], by venue code."""
        found: dict[str, list[VenueDay]] = {code: [] for code in venue_codes}
        cursor = self._venue_days.find(
            {"venue_code": {"$in": venue_codes}, "day": {"$gte": first_day, "$lte": last_day}}
        )
        async for doc in cursor:
            found.setdefault(doc["venue_code"], []).append(venue_day_from_doc(doc))
        return found


__all__ = ["MAX_PARTY", "RESCAN_WINDOW", "CheckinRepo", "VisitDraft", "hour_key", "visit_doc"]
