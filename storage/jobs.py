"""Scheduled-job bookkeeping: one run document per (job, period), and the leader lease.

A run document is created when a job starts for a period and marked done when it ends,
so a period runs once even across restarts and instances; a run left `running` by an
instance that died is taken over by the next leader, and a failed one is retried a few times.

The lease is one document per name holding the current holder and an expiry. The holder
renews it well before it expires; when the holder dies, another instance takes it once it
has expired.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

Doc = dict[str, Any]

RUNNING, DONE, FAILED = "running", "done", "failed"
MAX_ATTEMPTS = 3

JOB_RUN_INDEXES = [IndexModel([("job", ASCENDING), ("state", ASCENDING), ("period", DESCENDING)])]


@dataclass(frozen=True)
class JobRun:
    """One job for one period."""

    job: str
    period: str
    state: str
    owner: str
    started_at: datetime
    attempts: int
    finished_at: datetime | None = None
    result: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True)
class Lease:
    """Who holds a named lease, and until when."""

    name: str
    holder: str
    expires_at: datetime
    renewed_at: datetime


def run_id(job: str, period: str) -> str:
    return f"{job}|{period}"


def run_from_doc(doc: Doc) -> JobRun:
    return JobRun(
        job=doc["job"],
        period=doc["period"],
        state=doc["state"],
        owner=doc["owner"],
        started_at=doc["started_at"],
        attempts=doc.get("attempts", 1),
        finished_at=doc.get("finished_at"),
        result=doc.get("result") or {},
        error=doc.get("error"),
    )


class JobRunRepo:
    """The `job_runs` collection."""

    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._runs = db["job_runs"]

    async def ensure_indexes(self) -> None:
        await self._runs.create_indexes(JOB_RUN_INDEXES)

    async def begin(
        self,
        job: str,
        period: str,
        owner: str,
        now: datetime,
        *,
        stale_before: datetime,
        force: bool = False,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> bool:
        """Start a period's run for `owner`; False when it is done, failed too often, or running elsewhere.

        A run still `running` that started before `stale_before` belonged to an instance that
        has since lost the lease (or died): it is taken over. `force` starts a run whatever
        its state (operators re-running a job; queueing is idempotent).
        """
        key = run_id(job, period)
        start = {"state": RUNNING, "owner": owner, "started_at": now, "error": None}
        try:
            await self._runs.insert_one({"_id": key, "job": job, "period": period, "attempts": 1, **start})
        except DuplicateKeyError:
            pass
        else:
            return True
        takeover: Doc = (
            {"_id": key}
            if force
            else {
                "_id": key,
                "$or": [
                    {"state": FAILED, "attempts": {"$lt": max_attempts}},
                    {"state": RUNNING, "started_at": {"$lt": stale_before}, "owner": {"$ne": owner}},
                ],
            }
        )
        doc = await self._runs.find_one_and_update(
            takeover, {"$set": start, "$inc": {"attempts": 1}}, return_document=ReturnDocument.AFTER
        )
        return doc is not None

    async def finish(self, job: str, period: str, owner: str, now: datetime, result: dict[str, Any]) -> None:
        await self._runs.update_one(
            {"_id": run_id(job, period), "owner": owner},
            {"$set": {"state": DONE, "finished_at": now, "result": result}},
        )

    async def fail(self, job: str, period: str, owner: str, now: datetime, error: str) -> None:
        await self._runs.update_one(
            {"_id": run_id(job, period), "owner": owner},
            {"$set": {"state": FAILED, "finished_at": now, "error": error[:500]}},
        )

    async def get(self, job: str, period: str) -> JobRun | None:
        doc = await self._runs.find_one({"_id": run_id(job, period)})
        return run_from_doc(doc) if doc else None

    async def periods(self, job: str, first: str, last: str) -> dict[str, JobRun]:
        """A job's runs for periods in [first, last] (periods sort as strings)."""
        cursor = self._runs.find({"job": job, "period": {"$gte": first, "$lte": last}})
        return {doc["period"]: run_from_doc(doc) async for doc in cursor}

    async def latest(self, job: str, state: str = DONE) -> JobRun | None:
        doc = await self._runs.find_one({"job": job, "state": state}, sort=[("period", DESCENDING)])
        return run_from_doc(doc) if doc else None


class LeaseRepo:
    """The `leases` collection."""

    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._leases = db["leases"]

    async def ensure_indexes(self) -> None:
        """Only the primary key is needed."""

    async def acquire(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        """Take or renew the lease; False while another holder's lease has not expired."""
        try:
            doc = await self._leases.find_one_and_update(
                {"_id": name, "$or": [{"holder": holder}, {"expires_at": {"$lte": now}}]},
                {"$set": {"holder": holder, "expires_at": now + ttl, "renewed_at": now}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:
            return False
        return doc is not None and doc.get("holder") == holder

    async def release(self, name: str, holder: str) -> bool:
        """Give the lease up now so another instance can take it at once (clean shutdown)."""
        result = await self._leases.delete_one({"_id": name, "holder": holder})
        return result.deleted_count == 1

    async def get(self, name: str) -> Lease | None:
        doc = await self._leases.find_one({"_id": name})
        if doc is None:
            return None
        return Lease(
            name=doc["_id"], holder=doc["holder"], expires_at=doc["expires_at"], renewed_at=doc["renewed_at"]
        )
