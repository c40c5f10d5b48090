"""The outbox: every proactive message is stored here first, then sent by the delivery engine.

One document per message. `_id` is the message's unique key, e.g.
`owner-summary:<venue>:<day>` or `exposure:<exposure id>:<user>`, so the same message can
never be queued twice.

A message moves `pending` -> `sending` (claimed by one sender, with a lease) -> `sent`,
`failed` or `dropped`; a retry puts it back to `pending` with a later `not_before`.
A sender that dies leaves its claims in `sending`; the next sender puts them back
(`recover`), so nothing is lost and only the messages that were on the wire can repeat.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bson import Binary
from pymongo import ASCENDING, IndexModel, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

Doc = dict[str, Any]

PENDING, SENDING, SENT, FAILED, DROPPED = "pending", "sending", "sent", "failed", "dropped"
STATES = (PENDING, SENDING, SENT, FAILED, DROPPED)

# Lower goes first: alerts about a possible exposure must not wait behind a night of summaries.
URGENT, NORMAL = 0, 1
URGENT_KINDS = frozenset({"exposure", "capacity", "alert"})

# Finished messages are kept this long (their keys keep refusing duplicates meanwhile).
KEEP_FINISHED = timedelta(days=14)

# Few indexes on purpose: every settlement rewrites `state`, and each index costs on every write.
OUTBOX_INDEXES = [
    IndexModel([("state", ASCENDING), ("priority", ASCENDING), ("not_before", ASCENDING)]),
    IndexModel([("chat_id", ASCENDING), ("state", ASCENDING)]),
    IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0),
]


@dataclass(frozen=True)
class OutboundMessage:
    """A message to send later: text, or a photo/document with a caption."""

    key: str  # unique: (kind, recipient, period), e.g. "owner-summary:K7Q2XH4M:2026-11-19"
    kind: str  # owner-summary, official-report, exposure, capacity, ...
    chat_id: int
    text: str = ""  # the message, or the caption of a photo/document
    photo: bytes | None = None  # PNG
    document: bytes | None = None
    filename: str | None = None
    reply_markup: dict[str, Any] | None = None  # InlineKeyboardMarkup.to_dict()
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class QueuedMessage:
    """A message claimed for sending, as stored."""

    key: str
    kind: str
    chat_id: int
    text: str
    photo: bytes | None
    document: bytes | None
    filename: str | None
    reply_markup: dict[str, Any] | None
    meta: dict[str, Any]
    attempts: int
    created_at: datetime


@dataclass(frozen=True)
class Settlement:
    """What became of one claimed message: sent, back to pending for a retry, failed or dropped."""

    key: str
    state: str
    at: datetime
    message_id: int | None = None
    reason: str | None = None
    error: str | None = None
    not_before: datetime | None = None  # retries only
    attempted: bool = True  # False when the message goes back without having been tried (429, shutdown)


@dataclass(frozen=True)
class OutboxStatus:
    """Counts for operators."""

    by_state: dict[str, int]
    failed_by_reason: dict[str, int]
    dropped_by_reason: dict[str, int]
    unreachable_recipients: int
    due_now: int
    oldest_due: datetime | None


def priority_of(kind: str, meta: dict[str, Any]) -> int:
    """Urgent for exposure and capacity alerts (or meta {"priority": "urgent"}), normal otherwise."""
    if meta.get("priority") == "urgent":
        return URGENT
    head = kind.split(":", 1)[0].split("-", 1)[0]
    return URGENT if head in URGENT_KINDS else NORMAL


def outbox_doc(message: OutboundMessage, now: datetime) -> Doc:
    return {
        "_id": message.key,
        "kind": message.kind,
        "chat_id": message.chat_id,
        "text": message.text,
        "photo": Binary(message.photo) if message.photo is not None else None,
        "document": Binary(message.document) if message.document is not None else None,
        "filename": message.filename,
        "reply_markup": message.reply_markup,
        "meta": message.meta,
        "state": PENDING,
        "priority": priority_of(message.kind, message.meta),
        "attempts": 0,
        "created_at": now,
        "not_before": now,
    }


def queued_from_doc(doc: Doc) -> QueuedMessage:
    photo, document = doc.get("photo"), doc.get("document")
    return QueuedMessage(
        key=doc["_id"],
        kind=doc["kind"],
        chat_id=doc["chat_id"],
        text=doc.get("text") or "",
        photo=bytes(photo) if photo is not None else None,
        document=bytes(document) if document is not None else None,
        filename=doc.get("filename"),
        reply_markup=doc.get("reply_markup"),
        meta=doc.get("meta") or {},
        attempts=doc.get("attempts", 0),
        created_at=doc["created_at"],
    )


_UNCLAIM = {"claimed_by": "", "claim": "", "lease_until": ""}


def settlement_update(owner: str, settlement: Settlement) -> UpdateOne:
    """The write recording a settlement; it only applies while `owner` still holds the claim (see SENT)."""
    fields: Doc = {"state": settlement.state, "updated_at": settlement.at}
    inc = {"attempts": 1} if settlement.attempted else {}
    if settlement.state == SENT:
        fields |= {"sent_at": settlement.at, "message_id": settlement.message_id}
    elif settlement.state == PENDING:
        fields["not_before"] = settlement.not_before or settlement.at
    else:
        fields |= {"finished_at": settlement.at, "reason": settlement.reason}
    if settlement.error is not None:
        fields["last_error"] = settlement.error[:300]
    unset = dict(_UNCLAIM)
    if settlement.state in (SENT, FAILED, DROPPED):
        fields["expires_at"] = settlement.at + KEEP_FINISHED
        unset |= {"photo": "", "document": ""}  # charts and files are large; the text is kept
    update: Doc = {"$set": fields, "$unset": unset}
    if inc:
        update["$inc"] = inc
    if settlement.state == SENT:
        # Telegram took it: that holds even when this sender's lease ran out meanwhile (a clock
        # step, a long pause) and the message was put back or claimed by another sender, which
        # then finds its claim gone just before sending it again. A cancelled message stays so.
        held_or_waiting = [{"claimed_by": owner}, {"state": {"$in": [PENDING, SENDING]}}]
        return UpdateOne({"_id": settlement.key, "$or": held_or_waiting}, update)
    return UpdateOne({"_id": settlement.key, "claimed_by": owner}, update)


class OutboxRepo:
    """The `outbox` collection: queueing, and claiming and settling for the delivery engine."""

    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._outbox = db["outbox"]

    @property
    def collection(self) -> Any:
        return self._outbox

    async def ensure_indexes(self) -> None:
        await self._outbox.create_indexes(OUTBOX_INDEXES)

    async def enqueue(self, message: OutboundMessage, now: datetime) -> bool:
        """Queue one message; False when a message with the same key was already queued."""
        try:
            await self._outbox.insert_one(outbox_doc(message, now))
        except DuplicateKeyError:
            return False
        return True

    async def enqueue_many(self, messages: list[OutboundMessage], now: datetime) -> int:
        """Queue many messages; those already queued are skipped. Returns how many were new."""
        if not messages:
            return 0
        try:
            result = await self._outbox.insert_many([outbox_doc(m, now) for m in messages], ordered=False)
        except BulkWriteError as exc:
            return int(exc.details.get("nInserted", 0))
        return len(result.inserted_ids)

    async def get(self, key: str) -> Doc | None:
        return await self._outbox.find_one({"_id": key})

    async def count(self, **query: Any) -> int:
        return await self._outbox.count_documents(query)

    async def drop_pending_for(self, chat_id: int, reason: str, now: datetime | None = None) -> int:
        """Cancel every pending message to a chat (recipient gone or forgotten)."""
        fields: Doc = {"state": DROPPED, "reason": reason}
        if now is not None:
            fields |= {"finished_at": now, "expires_at": now + KEEP_FINISHED}
        result = await self._outbox.update_many({"chat_id": chat_id, "state": PENDING}, {"$set": fields})
        return result.modified_count

    async def cancel_for(self, chat_id: int, now: datetime) -> int:
        """Forget a person: drop every message to them not yet sent, claimed ones included, and keep
        no content of any message to them; how many were cancelled.

        A sender holding one of these claims finds it gone when it checks just before sending (`held`).
        """
        cancelled = await self._outbox.update_many(
            {"chat_id": chat_id, "state": {"$in": [PENDING, SENDING]}},
            {
                "$set": {
                    "state": DROPPED,
                    "reason": "forgotten",
                    "finished_at": now,
                    "expires_at": now + KEEP_FINISHED,
                },
                "$unset": _UNCLAIM,
            },
        )
        # Sent and failed ones too: only the key (refusing a duplicate) and the outcome stay until expiry.
        await self._outbox.update_many(
            {"chat_id": chat_id},
            {
                "$set": {"text": "", "meta": {}},
                "$unset": {"photo": "", "document": "", "filename": "", "reply_markup": ""},
            },
        )
        return cancelled.modified_count

    # -- delivery side ----------------------------------------------------------------------------

    async def held(self, owner: str, keys: list[str]) -> set[str]:
        """Which of these messages `owner` still holds claimed (not cancelled, not taken back)."""
        cursor = self._outbox.find(
            {"_id": {"$in": keys}, "state": SENDING, "claimed_by": owner}, projection={"_id": 1}
        )
        return {doc["_id"] async for doc in cursor}

    async def claim(self, owner: str, now: datetime, *, limit: int, lease: timedelta) -> list[QueuedMessage]:
        """Claim up to `limit` due messages for `owner`, most urgent and oldest first."""
        docs = await self._outbox.find(
            {"state": PENDING, "not_before": {"$lte": now}},
            sort=[("priority", ASCENDING), ("not_before", ASCENDING)],
            limit=limit,
        ).to_list()
        if not docs:
            return []
        token = uuid.uuid4().hex
        claim = {"state": SENDING, "claimed_by": owner, "claim": token, "lease_until": now + lease}
        # One write per document by _id: cheaper than `$in` on servers that scan for it.
        result = await self._outbox.bulk_write(
            [UpdateOne({"_id": doc["_id"], "state": PENDING}, {"$set": claim}) for doc in docs],
            ordered=False,
        )
        if result.modified_count < len(docs):  # someone else took some meanwhile
            mine = {
                doc["_id"] async for doc in self._outbox.find({"state": SENDING, "claim": token}, {"_id": 1})
            }
            docs = [doc for doc in docs if doc["_id"] in mine]
        return [queued_from_doc(doc) for doc in docs]

    async def settle(self, owner: str, settlements: list[Settlement]) -> int:
        """Record what became of claimed messages in one round trip; returns how many applied."""
        if not settlements:
            return 0
        result = await self._outbox.bulk_write(
            [settlement_update(owner, s) for s in settlements], ordered=False
        )
        return result.modified_count

    async def release(self, owner: str, keys: list[str], not_before: datetime) -> int:
        """Give untried claims back (shutdown, flood wait), due again at `not_before`."""
        if not keys:
            return 0
        result = await self._outbox.bulk_write(
            [
                UpdateOne(
                    {"_id": key, "state": SENDING, "claimed_by": owner},
                    {"$set": {"state": PENDING, "not_before": not_before}, "$unset": _UNCLAIM},
                )
                for key in keys
            ],
            ordered=False,
        )
        return result.modified_count

    async def recover(self, owner: str, now: datetime) -> int:
        """Put back every claim held by another sender (one that died or lost the lease)."""
        result = await self._outbox.update_many(
            {"state": SENDING, "claimed_by": {"$ne": owner}},
            {"$set": {"state": PENDING, "not_before": now}, "$unset": _UNCLAIM},
        )
        return result.modified_count

    async def requeue_expired(self, now: datetime) -> int:
        """Put back claims whose lease ran out (a sender stuck for longer than its lease)."""
        result = await self._outbox.update_many(
            {"state": SENDING, "lease_until": {"$lte": now}},
            {"$set": {"state": PENDING, "not_before": now}, "$unset": _UNCLAIM},
        )
        return result.modified_count

    async def due_count(self, now: datetime) -> int:
        return await self._outbox.count_documents({"state": PENDING, "not_before": {"$lte": now}})

    async def depth(self) -> dict[str, int]:
        """Messages waiting: pending and sending."""
        return {state: await self._outbox.count_documents({"state": state}) for state in (PENDING, SENDING)}

    async def status(self, now: datetime) -> OutboxStatus:
        """Counts by state, failures and drops by reason, unreachable recipients, the oldest due message."""
        by_state = {state: await self._outbox.count_documents({"state": state}) for state in STATES}
        reasons: dict[str, dict[str, int]] = {FAILED: {}, DROPPED: {}}
        pipeline: list[Doc] = [
            {"$match": {"state": {"$in": [FAILED, DROPPED]}}},
            {"$group": {"_id": {"state": "$state", "reason": "$reason"}, "n": {"$sum": 1}}},
        ]
        async for row in await self._outbox.aggregate(pipeline):
            reasons[row["_id"]["state"]][row["_id"].get("reason") or "unknown"] = row["n"]
        unreachable = await self._outbox.distinct(
            "chat_id", {"state": {"$in": [FAILED, DROPPED]}, "reason": {"$in": list(UNREACHABLE_REASONS)}}
        )
        oldest = await self._outbox.find_one(
            {"state": PENDING, "not_before": {"$lte": now}},
            projection={"not_before": 1},
            sort=[("not_before", ASCENDING)],
        )
        return OutboxStatus(
            by_state=by_state,
            failed_by_reason=reasons[FAILED],
            dropped_by_reason=reasons[DROPPED],
            unreachable_recipients=len(unreachable),
            due_now=await self.due_count(now),
            oldest_due=oldest["not_before"] if oldest else None,
        )

    async def states(self, keys: list[str]) -> dict[str, str]:
        """The state of each of these messages (tests, operators)."""
        cursor = self._outbox.find({"_id": {"$in": keys}}, projection={"state": 1})
        return {doc["_id"]: doc["state"] async for doc in cursor}


# Reasons meaning the recipient cannot be reached at all (they blocked the bot or left Telegram).
UNREACHABLE_REASONS = frozenset({"blocked", "deactivated", "chat-not-found"})
