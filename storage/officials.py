"""Public-health officials: region scopes, report subscriptions, the audit log, exposure alerts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

Doc = dict[str, Any]

SUBSCRIPTION_INDEXES = [IndexModel([("user_id", ASCENDING), ("region", ASCENDING)])]
AUDIT_INDEXES = [IndexModel([("at", DESCENDING)]), IndexModel([("actor_id", ASCENDING), ("at", DESCENDING)])]
EXPOSURE_INDEXES = [IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0)]


@dataclass(frozen=True)
class Official:
    """A person allowed to read figures and trace contacts within a region."""

    user_id: int
    region: str
    name: str
    invited_by: int
    since: datetime


@dataclass(frozen=True)
class Subscription:
    """An official's daily report for one region."""

    user_id: int
    region: str
    since: datetime


@dataclass(frozen=True)
class AuditEntry:
    """One recorded action of an official or an admin."""

    id: str
    at: datetime
    actor_id: int
    actor_name: str
    action: str  # trace, exposure, invite, join, revoke
    region: str | None = None
    venue_code: str | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    rows: int | None = None
    detail: str = ""


@dataclass(frozen=True)
class NewAuditEntry:
    """What to record; the time and id are added when stored."""

    actor_id: int
    actor_name: str
    action: str
    region: str | None = None
    venue_code: str | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    rows: int | None = None
    detail: str = ""


def official_from_doc(doc: Doc) -> Official:
    return Official(
        user_id=doc["_id"],
        region=doc["region"],
        name=doc.get("name", ""),
        invited_by=doc.get("invited_by", 0),
        since=doc["since"],
    )


def audit_from_doc(doc: Doc) -> AuditEntry:
    return AuditEntry(
        id=str(doc["_id"]),
        at=doc["at"],
        actor_id=doc["actor_id"],
        actor_name=doc.get("actor_name", ""),
        action=doc["action"],
        region=doc.get("region"),
        venue_code=doc.get("venue_code"),
        window_start=doc.get("window_start"),
        window_end=doc.get("window_end"),
        rows=doc.get("rows"),
        detail=doc.get("detail", ""),
    )


class OfficialRepo:
    """The `officials` collection (their invites are in storage.invites)."""

    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._officials = db["officials"]

    async def ensure_indexes(self) -> None:
        """Only the `_id` index: officials are looked up by user id."""

    async def get(self, user_id: int) -> Official | None:
        doc = await self._officials.find_one({"_id": user_id})
        return official_from_doc(doc) if doc else None

    async def all(self) -> list[Official]:
        cursor = self._officials.find({}).sort([("region", ASCENDING), ("_id", ASCENDING)])
        return [official_from_doc(doc) async for doc in cursor]

    async def get_many(self, user_ids: list[int]) -> dict[int, Official]:
        cursor = self._officials.find({"_id": {"$in": user_ids}})
        return {doc["_id"]: official_from_doc(doc) async for doc in cursor}

    async def revoke(self, user_id: int) -> Official | None:
        """Remove an official; the removed record, or None when there was none."""
        doc = await self._officials.find_one_and_delete({"_id": user_id})
        return official_from_doc(doc) if doc else None

    async def appoint(
        self, user_id: int, *, region: str, name: str, invited_by: int, now: datetime
    ) -> Official:
        """Make a person an official of a region, replacing any earlier scope."""
        doc = {"_id": user_id, "region": region, "name": name[:128], "invited_by": invited_by, "since": now}
        await self._officials.replace_one({"_id": user_id}, doc, upsert=True)
        return official_from_doc(doc)


class SubscriptionRepo:
    """The `subscriptions` collection: which official gets which region's morning report."""

    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._subscriptions = db["subscriptions"]

    async def ensure_indexes(self) -> None:
        await self._subscriptions.create_indexes(SUBSCRIPTION_INDEXES)

    async def subscribe(self, user_id: int, region: str, now: datetime) -> bool:
        """Add a subscription; False when it already existed."""
        result = await self._subscriptions.update_one(
            {"_id": f"{user_id}|{region}"},
            {"$setOnInsert": {"user_id": user_id, "region": region, "since": now}},
            upsert=True,
        )
        return result.upserted_id is not None

    async def unsubscribe(self, user_id: int, region: str) -> bool:
        result = await self._subscriptions.delete_one({"_id": f"{user_id}|{region}"})
        return result.deleted_count == 1

    async def drop_user(self, user_id: int) -> int:
        result = await self._subscriptions.delete_many({"user_id": user_id})
        return result.deleted_count

    async def for_user(self, user_id: int) -> list[Subscription]:
        cursor = self._subscriptions.find({"user_id": user_id}).sort("region", ASCENDING)
        return [Subscription(d["user_id"], d["region"], d["since"]) async for d in cursor]

    async def all(self) -> list[Subscription]:
        cursor = self._subscriptions.find({}).sort([("user_id", ASCENDING), ("region", ASCENDING)])
        return [Subscription(d["user_id"], d["region"], d["since"]) async for d in cursor]


class AuditRepo:
    """The append-only `audit_log` collection."""

    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._audit = db["audit_log"]

    async def ensure_indexes(self) -> None:
        await self._audit.create_indexes(AUDIT_INDEXES)

    async def record(self, entry: NewAuditEntry, now: datetime) -> AuditEntry:
        doc = {
            "_id": ObjectId(),
            "at": now,
            "actor_id": entry.actor_id,
            "actor_name": entry.actor_name[:128],
            "action": entry.action,
            "region": entry.region,
            "venue_code": entry.venue_code,
            "window_start": entry.window_start,
            "window_end": entry.window_end,
            "rows": entry.rows,
            "detail": entry.detail,
        }
        await self._audit.insert_one(doc)
        return audit_from_doc(doc)

    async def since(self, since: datetime | None = None, limit: int = 0) -> list[AuditEntry]:
        """Entries at or after `since` (all when None), newest first."""
        query: Doc = {"at": {"$gte": since}} if since else {}
        cursor = self._audit.find(query).sort([("at", DESCENDING), ("_id", DESCENDING)]).limit(limit)
        return [audit_from_doc(doc) async for doc in cursor]


class ExposureRepo:
    """The `exposure_alerts` collection: one mark per visit whose person was alerted."""

    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._alerts = db["exposure_alerts"]

    async def ensure_indexes(self) -> None:
        await self._alerts.create_indexes(EXPOSURE_INDEXES)

    async def alerted(self, visit_ids: Iterable[str]) -> set[str]:
        """Which of these visits already led to an alert."""
        ids = list(visit_ids)
        found: set[str] = set()
        for start in range(0, len(ids), 5000):
            cursor = self._alerts.find({"_id": {"$in": ids[start : start + 5000]}}, projection={"_id": 1})
            found.update([doc["_id"] async for doc in cursor])
        return found

    async def mark(
        self, venue_code: str, visit_ids: Iterable[str], *, audit_id: str, now: datetime, expires_at: datetime
    ) -> None:
        """Remember that the people of these visits were alerted (marks already there are kept).

        Marks name visits, not people, and expire with them: nothing here outlives a citizen's /forget.
        """
        docs = [
            {
                "_id": visit_id,
                "venue_code": venue_code,
                "audit_id": audit_id,
                "at": now,
                "expires_at": expires_at,
            }
            for visit_id in visit_ids
        ]
        if not docs:
            return
        try:
            await self._alerts.insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            if any(error.get("code") != 11000 for error in exc.details.get("writeErrors", [])):
                raise
