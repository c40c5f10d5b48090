"""One-time staff invites: a link an owner hands to one person, valid for 72 hours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from storage.errors import Conflict, NotFound

Doc = dict[str, Any]

INVITE_LIFETIME = timedelta(hours=72)
# Spent and expired invites are kept a while so the bot can say "expired" or "already used"
# instead of "not valid"; the TTL index removes them afterwards.
INVITE_KEEP = timedelta(days=14)

STAFF_INVITE_INDEXES = [
    IndexModel([("venue_code", ASCENDING), ("expires_at", ASCENDING)]),
    IndexModel([("purge_at", ASCENDING)], expireAfterSeconds=0),
]


class InviteExpired(Conflict):
    """The invite is past its 72 hours (or was revoked)."""


class InviteUsed(Conflict):
    """Someone already opened this invite."""


@dataclass(frozen=True)
class StaffInvite:
    """An invite to become staff of one venue."""

    token: str
    venue_code: str
    created_by: int
    created_at: datetime
    expires_at: datetime
    used_by: int | None = None
    used_at: datetime | None = None

    def is_open(self, now: datetime) -> bool:
        """Not used yet and not expired."""
        return self.used_by is None and now < self.expires_at


def invite_from_doc(doc: Doc) -> StaffInvite:
    return StaffInvite(
        token=doc["_id"],
        venue_code=doc["venue_code"],
        created_by=doc["created_by"],
        created_at=doc["created_at"],
        expires_at=doc["expires_at"],
        used_by=doc.get("used_by"),
        used_at=doc.get("used_at"),
    )


class StaffInviteRepo:
    """The `staff_invites` collection."""

    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._invites = db["staff_invites"]

    async def ensure_indexes(self) -> None:
        await self._invites.create_indexes(STAFF_INVITE_INDEXES)

    async def create(
        self,
        venue_code: str,
        created_by: int,
        *,
        token: str,
        now: datetime,
        lifetime: timedelta = INVITE_LIFETIME,
    ) -> StaffInvite:
        """Store a fresh invite; Conflict if the token is already taken."""
        expires = now + lifetime
        doc: Doc = {
            "_id": token,
            "venue_code": venue_code,
            "created_by": created_by,
            "created_at": now,
            "expires_at": expires,
            "used_by": None,
            "used_at": None,
            "purge_at": expires + INVITE_KEEP,
        }
        try:
            await self._invites.insert_one(doc)
        except DuplicateKeyError:
            raise Conflict("invite token is taken") from None
        return invite_from_doc(doc)

    async def get(self, token: str) -> StaffInvite | None:
        doc = await self._invites.find_one({"_id": token})
        return invite_from_doc(doc) if doc else None

    async def redeem(self, token: str, user_id: int, now: datetime) -> StaffInvite:
        """Spend an invite for this user, atomically; NotFound, InviteExpired or InviteUsed otherwise."""
        doc = await self._invites.find_one_and_update(
            {"_id": token, "used_by": None, "expires_at": {"$gt": now}},
            {"$set": {"used_by": user_id, "used_at": now}},
            return_document=ReturnDocument.AFTER,
        )
        if doc is not None:
            return invite_from_doc(doc)
        invite = await self.get(token)
        if invite is None:
            raise NotFound(token)
        if invite.used_by is not None:
            raise InviteUsed(token)
        raise InviteExpired(token)

    async def open_for(self, venue_code: str, now: datetime) -> list[StaffInvite]:
        """A venue's invites nobody has used yet and that have not expired, oldest first."""
        cursor = self._invites.find(
            {"venue_code": venue_code, "used_by": None, "expires_at": {"$gt": now}},
            sort=[("created_at", ASCENDING)],
        )
        return [invite_from_doc(doc) async for doc in cursor]

    async def revoke_open(self, venue_code: str, now: datetime) -> int:
        """End every open invite of a venue now (a link was shared too widely); how many were open."""
        result = await self._invites.update_many(
            {"venue_code": venue_code, "used_by": None, "expires_at": {"$gt": now}},
            {"$set": {"expires_at": now, "purge_at": now + INVITE_KEEP}},
        )
        return result.modified_count
