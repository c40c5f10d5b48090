"""Update ids already accepted by a webhook worker, so a redelivered update is processed once."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

Doc = dict[str, Any]

# Telegram gives up redelivering an update well within a day.
REMEMBER_FOR = timedelta(days=2)

UPDATE_INDEXES = [IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0)]


class UpdateRepo:
    """The `seen_updates` collection (TTL)."""

    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._seen = db["seen_updates"]

    async def ensure_indexes(self) -> None:
        await self._seen.create_indexes(UPDATE_INDEXES)

    async def first_delivery(self, update_id: int, now: datetime) -> bool:
        """Record an update id; False when it was already recorded (by any worker)."""
        try:
            await self._seen.insert_one(
                {"_id": update_id, "received_at": now, "expires_at": now + REMEMBER_FOR}
            )
        except DuplicateKeyError:
            return False
        return True
