"""Dashboard sign-in links and sessions: stored by the hash of their secret, removed by TTL when they expire."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

Doc = dict[str, Any]

TTL_INDEXES = [IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0)]
SESSION_INDEXES = [*TTL_INDEXES, IndexModel([("user_id", ASCENDING)])]


@dataclass(frozen=True)
class DashboardSession:
    """A signed-in browser: who, in which language, its CSRF token, until when."""

    key: str  # the hash of the cookie's value; the value itself is never stored
    user_id: int
    csrf: str
    lang: str
    via: str  # "link" or "webapp"
    created_at: datetime
    expires_at: datetime


def session_from_doc(doc: Doc) -> DashboardSession:
    return DashboardSession(
        key=doc["_id"],
        user_id=doc["user_id"],
        csrf=doc["csrf"],
        lang=doc.get("lang", "vi"),
        via=doc.get("via", "link"),
        created_at=doc["created_at"],
        expires_at=doc["expires_at"],
    )


class SigninRepo:
    """The `dashboard_links` and `dashboard_sessions` collections."""

    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._links = db["dashboard_links"]
        self._sessions = db["dashboard_sessions"]

    async def ensure_indexes(self) -> None:
        await self._links.create_indexes(TTL_INDEXES)
        await self._sessions.create_indexes(SESSION_INDEXES)

    async def add_link(self, key: str, user_id: int, *, now: datetime, expires_at: datetime) -> None:
        await self._links.insert_one(
            {"_id": key, "user_id": user_id, "created_at": now, "expires_at": expires_at, "used_at": None}
        )

    async def use_link(self, key: str, *, now: datetime) -> int | None:
        """Mark an unused, unexpired link used and return its user; None for any other link.

        One atomic update, so two browsers opening the same link at once cannot both get in.
        """
        doc = await self._links.find_one_and_update(
            {"_id": key, "used_at": None, "expires_at": {"$gt": now}}, {"$set": {"used_at": now}}
        )
        return int(doc["user_id"]) if doc else None

    async def add_session(self, session: DashboardSession) -> None:
        await self._sessions.insert_one(
            {
                "_id": session.key,
                "user_id": session.user_id,
                "csrf": session.csrf,
                "lang": session.lang,
                "via": session.via,
                "created_at": session.created_at,
                "expires_at": session.expires_at,
            }
        )

    async def get_session(self, key: str, *, now: datetime) -> DashboardSession | None:
        """The session if it has not expired (the TTL sweep may run late)."""
        doc = await self._sessions.find_one({"_id": key, "expires_at": {"$gt": now}})
        return session_from_doc(doc) if doc else None

    async def set_language(self, key: str, lang: str) -> None:
        await self._sessions.update_one({"_id": key}, {"$set": {"lang": lang}})

    async def end_session(self, key: str) -> bool:
        result = await self._sessions.delete_one({"_id": key})
        return result.deleted_count > 0

    async def end_sessions_of(self, user_id: int) -> int:
        result = await self._sessions.delete_many({"user_id": user_id})
        return result.deleted_count
