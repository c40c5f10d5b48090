"""Bot state in MongoDB: user, chat and bot data, and conversations several instances can share.

`PersistenceStore` is the repository (four collections); the python-telegram-bot adapter over it
lives in `bot.app.persistence`. PTB writes persistence on a
timer; a conversation step must not wait for that, so `SharedConversationHandler`
re-reads its state (and the user's data) before every update it may handle and writes
it straight back afterwards. A restart, a crash or another instance behind the same
webhook then continues where the user left off.

Stored data must be BSON: string keys and plain values (tuples come back as lists).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

Doc = dict[str, Any]
Data = dict[Any, Any]
ConversationKey = tuple[int | str, ...]
ConversationDict = dict[ConversationKey, object]

BOT_DATA_ID = "bot"
CONVERSATION_TTL = timedelta(hours=24)
# PTB's own timer only has to save what no conversation step saved already.
UPDATE_INTERVAL = 10.0
# The re-read runs before every other handler, the write after every other handler.
RELOAD_GROUP = -100
WRITE_GROUP = 100

# A person's bot data (settings in progress, caches) goes with the rest of their personal data.
DATA_RETENTION = timedelta(days=21)
DATA_INDEXES = [IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0)]
CONVERSATION_INDEXES = [
    IndexModel([("name", ASCENDING), ("expires_at", ASCENDING)]),
    IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0),
]


def conversation_id(name: str, key: ConversationKey) -> str:
    return "|".join([name, *(str(part) for part in key)])


class PersistenceStore:
    """The `bot_user_data`, `bot_chat_data`, `bot_data` and `bot_conversations` collections."""

    def __init__(self, db: AsyncDatabase[Doc], *, retention: timedelta = DATA_RETENTION) -> None:
        self._retention = retention
        self._users = db["bot_user_data"]
        self._chats = db["bot_chat_data"]
        self._bot = db["bot_data"]
        self._conversations = db["bot_conversations"]

    async def ensure_indexes(self) -> None:
        await self._conversations.create_indexes(CONVERSATION_INDEXES)
        await self._users.create_indexes(DATA_INDEXES)
        await self._chats.create_indexes(DATA_INDEXES)

    def _record(self, data: Data, now: datetime) -> Doc:
        """A user's or chat's data, kept for the retention period after its last change."""
        return {"data": data, "updated_at": now, "expires_at": now + self._retention}

    async def all_user_data(self) -> dict[int, Data]:
        return {doc["_id"]: dict(doc.get("data") or {}) async for doc in self._users.find({})}

    async def user_data(self, user_id: int) -> Data:
        doc = await self._users.find_one({"_id": user_id})
        return dict(doc.get("data") or {}) if doc else {}

    async def save_user_data(self, user_id: int, data: Data, now: datetime) -> None:
        """Store a user's data; empty data deletes the record."""
        if data:
            await self._users.replace_one({"_id": user_id}, self._record(data, now), upsert=True)
        else:
            await self._users.delete_one({"_id": user_id})

    async def all_chat_data(self) -> dict[int, Data]:
        return {doc["_id"]: dict(doc.get("data") or {}) async for doc in self._chats.find({})}

    async def save_chat_data(self, chat_id: int, data: Data, now: datetime) -> None:
        if data:
            await self._chats.replace_one({"_id": chat_id}, self._record(data, now), upsert=True)
        else:
            await self._chats.delete_one({"_id": chat_id})

    async def bot_data(self) -> Data:
        doc = await self._bot.find_one({"_id": BOT_DATA_ID})
        return dict(doc.get("data") or {}) if doc else {}

    async def save_bot_data(self, data: Data, now: datetime) -> None:
        await self._bot.replace_one({"_id": BOT_DATA_ID}, {"data": data, "updated_at": now}, upsert=True)

    async def conversations(self, name: str, now: datetime) -> ConversationDict:
        """Every live conversation of one handler: key -> state."""
        cursor = self._conversations.find({"name": name, "expires_at": {"$gt": now}})
        return {tuple(doc["key"]): doc["state"] async for doc in cursor}

    async def conversation(self, name: str, key: ConversationKey, now: datetime) -> object | None:
        """One conversation's state, None when there is none or it lapsed."""
        doc = await self._conversations.find_one(
            {"_id": conversation_id(name, key), "expires_at": {"$gt": now}}
        )
        return doc["state"] if doc else None

    async def save_conversation(
        self, name: str, key: ConversationKey, state: object | None, now: datetime, ttl: timedelta
    ) -> None:
        """Store a conversation's state; None (the conversation ended) deletes it."""
        doc_id = conversation_id(name, key)
        if state is None:
            await self._conversations.delete_one({"_id": doc_id})
            return
        await self._conversations.replace_one(
            {"_id": doc_id},
            {"name": name, "key": list(key), "state": state, "updated_at": now, "expires_at": now + ttl},
            upsert=True,
        )
