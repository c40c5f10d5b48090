"""One-time invite links: the `invites` collection, for every kind of invite.

An invite has a kind and a target: staff of venue V (target = the venue code) or official of
region R (target = the region id). Opening it spends it for one person, atomically.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from storage.errors import Conflict, NotFound

Doc = dict[str, Any]

# Spent and expired invites are kept a while so the bot can say "expired" or "already used"
# instead of "not valid"; the TTL index on `expires_at` removes them this long after they end.
INVITE_KEEP = timedelta(days=14)

INVITE_INDEXES = [
    IndexModel([("kind", ASCENDING), ("target", ASCENDING), ("expires_at", ASCENDING)]),
    IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=int(INVITE_KEEP.total_seconds())),
]


class InviteKind(StrEnum):
    """What opening an invite makes its opener."""

    STAFF = "staff"  # target: a venue code
    OFFICIAL = "official"  # target: a region id


class InviteExpired(Conflict):
    """The invite's time ran out (or its creator cancelled it) before anyone opened it."""


class InviteUsed(Conflict):
    """Someone already opened this one-time invite."""


@dataclass(frozen=True)
class Invite:
    """A one-time link that gives whoever opens it a role at its target."""

    token: str
    kind: InviteKind
    target: str
    created_by: int
    created_at: datetime
    expires_at: datetime
    used_by: int | None = None  # None once spent by someone who since asked to be forgotten
    used_at: datetime | None = None

    def is_open(self, now: datetime) -> bool:
        """Not used yet and not expired."""
        return self.used_at is None and now < self.expires_at


def invite_from_doc(doc: Doc) -> Invite:
    return Invite(
        token=doc["_id"],
        kind=InviteKind(doc["kind"]),
        target=doc["target"],
        created_by=doc["created_by"],
        created_at=doc["created_at"],
        expires_at=doc["expires_at"],
        used_by=doc.get("used_by"),
        used_at=doc.get("used_at"),
    )


class InviteRepo:
    """The `invites` collection."""

    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._invites = db["invites"]

    async def ensure_indexes(self) -> None:
        await self._invites.create_indexes(INVITE_INDEXES)

    async def create(
        self,
        token: str,
        kind: InviteKind,
        target: str,
        *,
        created_by: int,
        now: datetime,
        expires_at: datetime,
    ) -> Invite:
        """Store a fresh invite; Conflict if the token is already taken."""
        doc: Doc = {
            "_id": token,
            "kind": kind.value,
            "target": target,
            "created_by": created_by,
            "created_at": now,
            "expires_at": expires_at,
            "used_by": None,
            "used_at": None,
        }
        try:
            await self._invites.insert_one(doc)
        except DuplicateKeyError:
            raise Conflict("invite token is taken") from None
        return invite_from_doc(doc)

    async def get(self, token: str, kind: InviteKind) -> Invite | None:
        """The invite of this kind with this token (an invite of another kind is not found)."""
        doc = await self._invites.find_one({"_id": token, "kind": kind.value})
        return invite_from_doc(doc) if doc else None

    async def redeem(self, token: str, kind: InviteKind, user_id: int, now: datetime) -> Invite:
        """Spend an invite for this user; NotFound, InviteExpired or InviteUsed otherwise.

        The claim is one atomic update, so of two people opening the same link at once only one
        succeeds; the reason for a refusal is looked up only after the claim failed.
        """
        doc = await self._invites.find_one_and_update(
            {"_id": token, "kind": kind.value, "used_at": None, "expires_at": {"$gt": now}},
            {"$set": {"used_by": user_id, "used_at": now}},
            return_document=ReturnDocument.AFTER,
        )
        if doc is not None:
            return invite_from_doc(doc)
        invite = await self.get(token, kind)
        if invite is None:
            raise NotFound(token)
        if invite.used_at is not None:
            raise InviteUsed(token)
        raise InviteExpired(token)

    async def open_for(self, kind: InviteKind, target: str, now: datetime) -> list[Invite]:
        """A target's invites nobody has used yet and that have not expired, oldest first."""
        cursor = self._invites.find(
            {"kind": kind.value, "target": target, "used_at": None, "expires_at": {"$gt": now}},
            sort=[("created_at", ASCENDING), ("_id", ASCENDING)],
        )
        return [invite_from_doc(doc) async for doc in cursor]

    async def revoke_open(self, kind: InviteKind, target: str, now: datetime) -> int:
        """End every open invite of a target now (a link was shared too widely); how many were open."""
        result = await self._invites.update_many(
            {"kind": kind.value, "target": target, "used_at": None, "expires_at": {"$gt": now}},
            {"$set": {"expires_at": now}},
        )
        return result.modified_count

    async def forget_user(self, user_id: int) -> int:
        """Remove a person's id from the invites they opened; how many invites named them.

        The invites stay spent (`used_at` is kept), so a forgotten person's link cannot be reused.
        """
        result = await self._invites.update_many({"used_by": user_id}, {"$set": {"used_by": None}})
        return result.modified_count
