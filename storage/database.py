"""The MongoDB client, the repositories over one database, and index creation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from typing import Any
from zoneinfo import ZoneInfo

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from storage.checkins import CheckinRepo
from storage.meta import MetaRepo
from storage.stats import StatsRepo
from storage.users import UserRepo
from storage.venues import VenueRepo

Doc = dict[str, Any]


def connect(uri: str, *, timeout_ms: int = 10_000) -> AsyncMongoClient[Doc]:
    """A client for one event loop; stored datetimes come back UTC-aware."""
    return AsyncMongoClient(
        uri,
        tz_aware=True,
        tzinfo=UTC,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        appname="quetma",
    )


@dataclass(frozen=True)
class Repos:
    """Every repository over one database."""

    client: AsyncMongoClient[Doc]
    db: AsyncDatabase[Doc]
    meta: MetaRepo
    venues: VenueRepo
    users: UserRepo
    checkins: CheckinRepo
    stats: StatsRepo

    @classmethod
    def open(cls, uri: str, db_name: str, *, tz: ZoneInfo, retention_days: int, timeout_ms: int = 10_000) -> Repos:
        """Connect (lazily: nothing is sent until the first operation) and build every repository."""
        client = connect(uri, timeout_ms=timeout_ms)
        db = client[db_name]
        return cls(
            client=client,
            db=db,
            meta=MetaRepo(db),
            venues=VenueRepo(db),
            users=UserRepo(db),
            checkins=CheckinRepo(db, tz=tz, retention_days=retention_days),
            stats=StatsRepo(db),
        )

    async def ensure_indexes(self) -> None:
        """Create every index; safe to run at each start."""
        for repo in (self.meta, self.venues, self.users, self.checkins, self.stats):
            await repo.ensure_indexes()

    async def ping(self) -> bool:
        """True when the database answers."""
        try:
            await self.db.command("ping")
        except Exception:  # noqa: BLE001 - any failure means "not answering"
            return False
        return True

    async def close(self) -> None:
        await self.client.close()

    async def drop_database(self) -> None:
        """Remove every collection (tests and demo resets only)."""
        await self.client.drop_database(self.db.name)
