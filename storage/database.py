"""The MongoDB client, the repositories over one database, and index creation."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pymongo
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import ConnectionFailure, PyMongoError

from storage.checkins import CheckinRepo
from storage.errors import Unavailable
from storage.invites import InviteRepo
from storage.jobs import JobRunRepo, LeaseRepo
from storage.meta import MetaRepo
from storage.officials import AuditRepo, ExposureRepo, OfficialRepo, SubscriptionRepo
from storage.outbox import OutboxRepo
from storage.persistence import PersistenceStore
from storage.signins import SigninRepo
from storage.stats import StatsRepo
from storage.updates import UpdateRepo
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


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Every database operation in the block ends within `seconds` from now, or raises a timeout.

    The driver enforces it (server selection, connecting, each read); a block inside it with a
    shorter budget keeps the shorter one.
    """
    with pymongo.timeout(seconds):
        yield


def unavailable(error: BaseException | None) -> bool:
    """Whether `error` says the database did not answer (in time, or at all)."""
    if isinstance(error, Unavailable):
        return True
    return isinstance(error, PyMongoError) and (error.timeout or isinstance(error, ConnectionFailure))


@contextmanager
def time_budget(seconds: float) -> Iterator[None]:
    """Every database operation in the block shares `seconds`; Unavailable when they run out.

    The driver enforces the deadline itself (server selection, connecting, each read), so a
    stalled or absent server costs at most the budget and leaves no cancelled read behind.
    """
    try:
        with pymongo.timeout(seconds):
            yield
    except PyMongoError as error:
        if error.timeout:
            raise Unavailable(f"no answer from the database within {seconds:g} s") from error
        raise


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
    outbox: OutboxRepo
    job_runs: JobRunRepo
    leases: LeaseRepo
    updates: UpdateRepo
    invites: InviteRepo
    persistence: PersistenceStore
    officials: OfficialRepo
    subscriptions: SubscriptionRepo
    audit: AuditRepo
    exposures: ExposureRepo
    signins: SigninRepo

    @classmethod
    def open(
        cls, uri: str, db_name: str, *, tz: ZoneInfo, retention_days: int, timeout_ms: int = 10_000
    ) -> Repos:
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
            outbox=OutboxRepo(db),
            job_runs=JobRunRepo(db),
            leases=LeaseRepo(db),
            updates=UpdateRepo(db),
            invites=InviteRepo(db),
            persistence=PersistenceStore(db, retention=timedelta(days=retention_days)),
            officials=OfficialRepo(db),
            subscriptions=SubscriptionRepo(db),
            audit=AuditRepo(db),
            exposures=ExposureRepo(db),
            signins=SigninRepo(db),
        )

    async def ensure_indexes(self) -> None:
        """Create every index; safe to run at each start."""
        for repo in (self.meta, self.venues, self.users, self.checkins, self.stats, self.outbox):
            await repo.ensure_indexes()
        for delivery_repo in (self.job_runs, self.leases, self.updates):
            await delivery_repo.ensure_indexes()
        await self.invites.ensure_indexes()
        await self.persistence.ensure_indexes()
        for officials_repo in (self.officials, self.subscriptions, self.audit, self.exposures):
            await officials_repo.ensure_indexes()
        await self.signins.ensure_indexes()

    async def ping(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109 - the driver's budget
        """True when the database answers (within `timeout` seconds when given).

        The driver enforces the timeout itself, so a stalled server costs a closed connection
        rather than a cancelled read whose socket is left to the garbage collector.
        """
        try:
            with pymongo.timeout(timeout):
                await self.db.command("ping")
        except Exception:
            return False
        return True

    async def close(self) -> None:
        await self.client.close()

    async def drop_database(self) -> None:
        """Remove every collection (tests and demo resets only)."""
        await self.client.drop_database(self.db.name)
