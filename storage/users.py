"""Citizen and staff profiles: language, display name, optional phone."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from storage.models import UserProfile

Doc = dict[str, Any]

USER_INDEXES = [IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0)]


def profile_from_doc(doc: Doc) -> UserProfile:
    return UserProfile(
        user_id=doc["_id"],
        language=doc.get("language"),
        telegram_language=doc.get("telegram_language"),
        display_name=doc.get("display_name", ""),
        phone=doc.get("phone"),
        created_at=doc["created_at"],
        unreachable=doc.get("unreachable", False),
        expires_at=doc.get("expires_at"),
    )


class UserRepo:
    """The `users` collection."""

    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._users = db["users"]

    async def ensure_indexes(self) -> None:
        """A profile goes when its expiry passes (pushed forward at every contact)."""
        await self._users.create_indexes(USER_INDEXES)

    async def touch(
        self,
        user_id: int,
        *,
        display_name: str,
        telegram_language: str | None,
        now: datetime,
        expires_at: datetime,
    ) -> tuple[UserProfile, bool]:
        """Create or refresh a profile and its expiry; the flag is True on first contact."""
        fresh = {
            "display_name": display_name[:128],
            "telegram_language": telegram_language,
            "seen_at": now,
            "expires_at": expires_at,
            "unreachable": False,
        }
        before = await self._users.find_one({"_id": user_id})
        if before is None:
            try:
                await self._users.insert_one(
                    {"_id": user_id, **fresh, "created_at": now, "language": None, "phone": None}
                )
            except DuplicateKeyError:  # the same person's first two updates, on two instances
                before = await self._users.find_one({"_id": user_id})
        if before is not None:
            await self._users.update_one({"_id": user_id}, {"$set": fresh})
        doc = {**(before or {"_id": user_id, "created_at": now, "language": None, "phone": None}), **fresh}
        return profile_from_doc(doc), before is None

    async def get(self, user_id: int) -> UserProfile | None:
        doc = await self._users.find_one({"_id": user_id})
        return profile_from_doc(doc) if doc else None

    async def get_many(self, user_ids: list[int]) -> dict[int, UserProfile]:
        cursor = self._users.find({"_id": {"$in": user_ids}})
        return {doc["_id"]: profile_from_doc(doc) async for doc in cursor}

    async def set_language(self, user_id: int, language: str) -> None:
        await self._users.update_one({"_id": user_id}, {"$set": {"language": language}})

    async def set_phone(self, user_id: int, phone: str | None) -> None:
        await self._users.update_one({"_id": user_id}, {"$set": {"phone": phone}})

    async def mark_unreachable(self, user_id: int, unreachable: bool = True) -> None:
        await self._users.update_one({"_id": user_id}, {"$set": {"unreachable": unreachable}})

    async def delete(self, user_id: int) -> bool:
        result = await self._users.delete_one({"_id": user_id})
        return result.deleted_count == 1
