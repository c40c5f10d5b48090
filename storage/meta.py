"""Small named values the service generates once and keeps (signing key, webhook secret)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

Doc = dict[str, Any]


class MetaRepo:
    """The `meta` collection: one document per named value."""

    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._meta = db["meta"]

    async def ensure_indexes(self) -> None:
        """Only the primary key is needed."""

    async def get_or_create(self, name: str, make: Callable[[], str]) -> str:
        """The stored value, created once with `make` (safe when several instances race)."""
        doc = await self._meta.find_one({"_id": name})
        if doc is not None:
            return str(doc["value"])
        with contextlib.suppress(DuplicateKeyError):
            await self._meta.insert_one({"_id": name, "value": make()})
        doc = await self._meta.find_one({"_id": name})
        assert doc is not None  # noqa: S101 - inserted just above
        return str(doc["value"])
