"""Bulk loading of venues and visits (demo and scale data) that leaves exactly what the live path leaves.

The live path (`VenueRepo.create`, then `bot.checkins.Checkins`: `record`, `add_person`, `check_out`)
updates a visit or two and a handful of counters per request. Loading millions of visits that way takes hours, so
this module replays the same rules in memory (`storage.counters`, `visit_doc`, `visitor_scopes`)
and writes the resulting documents with `insert_many` and merged upserts, in batches, with a few
writes in flight while the next batch is computed.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pymongo import UpdateOne
from pymongo.errors import AutoReconnect, BulkWriteError

from storage.checkins import MAX_PARTY, RESCAN_WINDOW, VisitDraft, visit_doc, visitor_scopes
from storage.counters import (
    active3_days,
    add_inc,
    hour_key,
    merge_region_incs,
    parent_of,
    region_day_id,
    venue_day_id,
    visitor_mark,
)
from storage.database import Repos
from storage.models import NewVenue, Venue
from storage.venues import venue_doc, venue_from_doc

Doc = dict[str, Any]
Progress = Callable[[str, int], None]

BULK_COLLECTIONS = ("venues", "visits", "visitor_days", "venue_days")
COUNTER_COLLECTIONS = ("region_days", "region_totals")
DEFAULT_BATCH = 4_000
DEFAULT_IN_FLIGHT = 2
UPSERT_BATCH = 1_000
INSERT_ATTEMPTS = 3
DUPLICATE_KEY = 11000

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BulkVenue:
    """A venue to register at a given moment, with the code it gets."""

    code: str
    new: NewVenue
    created_at: datetime


@dataclass(frozen=True)
class BulkVisit:
    """A check-in, its party size (1 + the people added) and, optionally, when the person checked out."""

    draft: VisitDraft
    checkout_at: datetime | None = None


@dataclass
class BulkResult:
    """How many documents of each kind a load wrote, and how many check-ins continued an earlier visit."""

    written: dict[str, int] = field(default_factory=dict)
    continued: int = 0
    indexing_seconds: float = 0.0  # building deferred indexes at the end

    @property
    def total(self) -> int:
        return sum(self.written.values())


@dataclass
class _VisitorDay:
    scopes: list[str]
    seen: set[str]


@dataclass
class _OpenVisit:
    """A stored visit that a later scan may still continue, with what happened to it since."""

    doc: Doc
    checkouts: list[datetime] = field(default_factory=list)
    reopened: list[datetime] = field(default_factory=list)

    def checkout(self) -> datetime | None:
        """The check-out the live path leaves: the first one after the last re-opening counts.

        `CheckinRepo.check_out` only ends an open visit before its automatic check-out, and a re-scan
        (continuing the visit) clears an earlier check-out; a check-out and a re-scan at the same
        moment are taken in that order.
        """
        events = sorted(
            [(moment, 0) for moment in self.checkouts] + [(moment, 1) for moment in self.reopened]
        )
        checkout: datetime | None = None
        for moment, kind in events:
            if kind == 1:
                checkout = None
            elif checkout is None and moment < self.doc["auto_checkout_at"]:
                checkout = moment
        return checkout

    def final(self, last_at: datetime) -> bool:
        """No scan from `last_at` on can change it: too old to continue, and ended by then."""
        if self.doc["checkin_at"] >= last_at - RESCAN_WINDOW:
            return False
        if self.doc["auto_checkout_at"] <= last_at:
            return True
        checkout = self.checkout()
        return checkout is not None and checkout <= last_at

    def settle(self) -> Doc:
        """The visit as the live path leaves it."""
        self.doc["checkout_at"] = self.checkout()
        return self.doc


class _Writer:
    """Inserts with a bounded number of batches in flight; the first failure surfaces on the next call."""

    def __init__(
        self,
        repos: Repos,
        in_flight: int,
        progress: Progress | None,
        result: BulkResult,
        retry_delay: float = 1.0,
    ) -> None:
        self._db = repos.db
        self._retry_delay = retry_delay
        self._slots = asyncio.Semaphore(in_flight)
        self._tasks: set[asyncio.Task[None]] = set()
        self._progress = progress
        self._result = result
        self._error: BaseException | None = None

    async def insert(self, collection: str, docs: list[Doc]) -> None:
        if not docs:
            return
        self._raise_failure()
        await self._slots.acquire()
        task = asyncio.create_task(self._insert(collection, docs))
        self._tasks.add(task)
        task.add_done_callback(self._done)
        # Let the task encode and send its batch before the caller computes the next one.
        await asyncio.sleep(0)

    async def upsert(self, collection: str, updates: list[UpdateOne]) -> None:
        for start in range(0, len(updates), UPSERT_BATCH):
            chunk = updates[start : start + UPSERT_BATCH]
            await self._db[collection].bulk_write(chunk, ordered=False)
            self._count(collection, len(chunk))

    async def _insert(self, collection: str, docs: list[Doc]) -> None:
        """Insert a batch; a lost or interrupted connection is retried with the same documents.

        A busy server can be slow enough to answer the driver's heartbeat that the driver resets
        its connections mid-batch. The documents keep the `_id`s of the first attempt, so what that
        attempt stored comes back as duplicate keys on the retry, which are expected then.
        """
        try:
            for attempt in range(1, INSERT_ATTEMPTS + 1):
                try:
                    await self._db[collection].insert_many(docs, ordered=False)
                    break
                except AutoReconnect as exc:
                    if attempt == INSERT_ATTEMPTS:
                        raise
                    log.warning(
                        "inserting %d %s failed (%s); retrying (attempt %d of %d)",
                        len(docs), collection, exc, attempt + 1, INSERT_ATTEMPTS,
                    )  # fmt: skip
                    await asyncio.sleep(self._retry_delay * attempt)
                except BulkWriteError as exc:
                    errors = exc.details.get("writeErrors", [])
                    if attempt == 1 or any(error.get("code") != DUPLICATE_KEY for error in errors):
                        raise
                    break
            self._count(collection, len(docs))
        finally:
            self._slots.release()

    def _count(self, collection: str, n: int) -> None:
        self._result.written[collection] = self._result.written.get(collection, 0) + n
        if self._progress is not None:
            self._progress(collection, n)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None and self._error is None:
            self._error = task.exception()

    def _raise_failure(self) -> None:
        if self._error is not None:
            raise self._error

    async def drain(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._raise_failure()

    async def cancel(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


class BulkLoader:
    """Loads venues and chronological visits; `finish()` writes what is still in memory.

    Use it as `async with BulkLoader(repos, ...) as loader:` so writes in flight are awaited (or
    cancelled on error). Venues must be added before their visits; visits must come in order of
    check-in time, as they would reach the bot. The rules of `bot.checkins.Checkins.record` apply:
    a check-in by the same person at the same venue within the re-scan window continues the earlier
    visit, and a check-in ends the person's other open visits at its moment.
    """

    def __init__(
        self,
        repos: Repos,
        *,
        tz: ZoneInfo,
        retention_days: int,
        batch_size: int = DEFAULT_BATCH,
        in_flight: int = DEFAULT_IN_FLIGHT,
        progress: Progress | None = None,
        defer_indexes: bool = False,
        now: datetime | None = None,
        retry_delay: float = 1.0,
    ) -> None:
        self._repos = repos
        self._tz = tz
        self._now = now or datetime.now(UTC)
        self._retention = timedelta(days=retention_days)
        self._batch = batch_size
        self._defer_indexes = defer_indexes
        self.result = BulkResult()
        self._writer = _Writer(repos, in_flight, progress, self.result, retry_delay)
        self._venues: dict[str, Venue] = {}
        self._venue_docs: list[Doc] = []
        self._last_day: dict[str, str | None] = {}
        self._region_incs: dict[tuple[str, str], dict[str, int]] = {}
        self._totals: dict[str, int] = {}
        self._pending: list[_OpenVisit] = []
        self._pending_at: list[datetime] = []
        self._recent: dict[tuple[int, str], _OpenVisit] = {}
        # Each person's visits not yet written, which a later scan elsewhere may still end.
        self._unwritten: dict[int, list[_OpenVisit]] = {}
        self._kept = 0  # visits left in memory by the last write, not final yet
        self._day: str | None = None
        self._visitor_days: dict[int, _VisitorDay] = {}
        # Venue counters of the current day and the one before (a visit just before midnight can
        # still be continued, and gain people, just after it).
        self._venue_days: dict[str, dict[str, Doc]] = {}
        self._closed_visitor_days: list[Doc] = []
        self._closed_venue_days: list[Doc] = []
        self._last_at: datetime | None = None
        self._finished = False

    async def __aenter__(self) -> BulkLoader:
        if self._defer_indexes:
            await self._drop_secondary_indexes()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        if exc_type is not None:
            # Indexes dropped for the load are not rebuilt here (minutes at city scale, and an
            # interrupted load is incomplete anyway): every start runs `Repos.ensure_indexes()`.
            await self._writer.cancel()
            return
        if not self._finished:
            await self.finish()

    async def _drop_secondary_indexes(self) -> None:
        """Index entries cost more written one by one than built at the end; only for an empty database.

        With nothing there yet, the merged region counters are inserted rather than upserted too.
        """
        for name in BULK_COLLECTIONS + COUNTER_COLLECTIONS:
            if await self._repos.db[name].estimated_document_count():
                raise ValueError(f"deferring indexes needs an empty {name} collection")
        for name in BULK_COLLECTIONS:
            await self._repos.db[name].drop_indexes()

    def add_venues(self, venues: Iterable[BulkVenue]) -> list[Venue]:
        """Register venues (written by `finish`, with the day of their latest check-in)."""
        added = []
        for item in venues:
            if item.code in self._venues:
                raise ValueError(f"venue code {item.code} added twice")
            day = item.created_at.astimezone(self._tz).date().isoformat()
            doc = venue_doc(item.code, item.new, item.created_at, day)
            venue = venue_from_doc(doc)
            self._venues[item.code] = venue
            self._venue_docs.append(doc)
            self._last_day[item.code] = None
            for region in venue.regions:
                add_inc(self._region_incs.setdefault((region, day), {}), {"venues_new": 1})
                self._totals[region] = self._totals.get(region, 0) + 1
            added.append(venue)
        return added

    async def add_visits(self, visits: Iterable[BulkVisit]) -> None:
        """Record check-ins in order of time, writing full batches as they fill."""
        for item in visits:
            self._add_visit(item)
            if len(self._pending) >= self._kept + 2 * self._batch:
                await self._write_settled_visits()

    def _add_visit(self, item: BulkVisit) -> None:
        draft = item.draft
        venue = self._venues.get(draft.venue.code)
        if venue is None:
            raise ValueError(f"visit to venue {draft.venue.code} that this load did not add")
        if draft.at < venue.created_at:
            raise ValueError(f"visit to {venue.code} before it was registered")
        if self._last_at is not None and draft.at < self._last_at:
            raise ValueError("visits must come in order of check-in time")
        self._last_at = draft.at
        checkouts = [item.checkout_at] if item.checkout_at is not None and item.checkout_at > draft.at else []
        key = (draft.user_id, venue.code)
        earlier = self._recent.get(key)
        continued = earlier is not None and earlier.doc["checkin_at"] >= draft.at - RESCAN_WINDOW
        # One place at a time: the scan ends the person's other visits (ignored where already ended).
        others = [v for v in self._unwritten.get(draft.user_id, []) if v.doc["auto_checkout_at"] > draft.at]
        for other in others:
            if not (continued and other is earlier):
                other.checkouts.append(draft.at)
        if continued and earlier is not None:
            self._continue(earlier, draft, checkouts)
            return
        doc = visit_doc(VisitDraft(venue, draft.user_id, draft.at), tz=self._tz, retention=self._retention)
        visit = _OpenVisit(doc, checkouts)
        self._recent[key] = visit
        self._unwritten.setdefault(draft.user_id, []).append(visit)
        self._pending.append(visit)
        self._pending_at.append(draft.at)
        self._count(venue, draft.user_id, doc)
        self._add_people(visit, draft.party - 1)

    def _continue(self, visit: _OpenVisit, draft: VisitDraft, checkouts: list[datetime]) -> None:
        """A re-scan within the window: the live path re-opens the earlier visit instead of adding one."""
        visit.reopened.append(draft.at)
        visit.checkouts.extend(checkouts)
        self.result.continued += 1
        self._add_people(visit, draft.party - 1)

    def _add_people(self, visit: _OpenVisit, extra: int) -> None:
        """People added right after the scan (`CheckinRepo.add_person`, capped at MAX_PARTY)."""
        added = max(0, min(extra, MAX_PARTY - visit.doc["party"]))
        if added:
            visit.doc["party"] += added
            venue_day = self._venue_days[visit.doc["day"]][visit.doc["venue_code"]]
            venue_day["people"] += added
            by_hour = venue_day.setdefault("people_hours", {})
            hour = hour_key(visit.doc["hour"])
            by_hour[hour] = by_hour.get(hour, 0) + added

    def _count(self, venue: Venue, user_id: int, doc: Doc) -> None:
        """The counter updates of `CheckinRepo._count_checkin`, applied in memory."""
        day: str = doc["day"]
        if day != self._day:
            self._close_day()
            self._day = day
        scopes = visitor_scopes(venue)
        visitor = self._visitor_days.get(user_id)
        if visitor is None:
            visitor = _VisitorDay(scopes=[], seen=set())
            self._visitor_days[user_id] = visitor
        new_scopes = [scope for scope in scopes if scope not in visitor.seen]
        visitor.scopes.extend(new_scopes)
        visitor.seen.update(new_scopes)
        venue_days = self._venue_days.setdefault(day, {})
        venue_day = venue_days.get(venue.code)
        first_today = venue_day is None
        if venue_day is None:
            venue_day = {
                "_id": venue_day_id(venue.code, day),
                "checkins": 0,
                "visitors": 0,
                "people": 0,
                "hours": {},
                "venue_code": venue.code,
                "day": day,
                "regions": list(venue.regions),
            }
            venue_days[venue.code] = venue_day
        venue_day["checkins"] += 1
        venue_day["visitors"] += 1 if f"venue:{venue.code}" in new_scopes else 0
        venue_day["people"] += doc["party"]
        hour = hour_key(doc["hour"])
        for name, count in (
            ("hours", 1),
            ("visitor_hours", 1 if f"venue:{venue.code}" in new_scopes else 0),
            ("people_hours", doc["party"]),
        ):
            by_hour = venue_day.setdefault(name, {})
            by_hour[hour] = by_hour.get(hour, 0) + count
        active_days: list[str] = []
        if first_today:
            last = self._last_day[venue.code]
            active_days = active3_days(day, venue.created_day, last if last and last < day else None)
            self._last_day[venue.code] = max(last, day) if last else day
        new_visitor = set(new_scopes)
        for region in venue.regions:
            inc = self._region_incs.setdefault((region, day), {})
            add_inc(
                inc,
                {
                    "checkins": 1,
                    "visitors": 1 if region in new_visitor else 0,
                    "venues_with_checkins": 1 if first_today else 0,
                },
            )
            for target in active_days:
                add_inc(self._region_incs.setdefault((region, target), {}), {"active3": 1})

    def _close_day(self, *, everything: bool = False) -> None:
        """Queue a finished day's per-person counters, and per-venue counters no re-scan can change any more."""
        if self._day is None:
            return
        day = self._day
        # The live path's marks expire when their day ends: only those of a day not over yet remain.
        marks = (
            visitor_mark(user_id, day, state.scopes, self._tz)
            for user_id, state in self._visitor_days.items()
        )
        self._closed_visitor_days.extend(mark for mark in marks if mark["expires_at"] > self._now)
        self._visitor_days = {}
        for older in [d for d in self._venue_days if everything or d < day]:
            self._closed_venue_days.extend(self._venue_days.pop(older).values())
        if self._last_at is not None:
            horizon = self._last_at - RESCAN_WINDOW
            self._recent = {k: v for k, v in self._recent.items() if v.doc["checkin_at"] >= horizon}

    async def _write_settled_visits(self, *, everything: bool = False) -> None:
        """Write visits no later check-in can still change, and any finished day's counters."""
        last_at = self._last_at
        final: list[_OpenVisit] = []
        kept: list[_OpenVisit] = []
        if everything or last_at is None:
            final = self._pending
        else:
            old = bisect.bisect_left(self._pending_at, last_at - RESCAN_WINDOW)
            for visit in self._pending[:old]:
                (final if visit.final(last_at) else kept).append(visit)
            kept += self._pending[old:]
        # The unwritten visits are looked at again only after two more batches came in: linear time.
        self._kept = len(kept)
        if everything or len(final) >= self._batch:
            self._pending = kept
            self._pending_at = [visit.doc["checkin_at"] for visit in kept]
            for visit in final:
                visits = self._unwritten[visit.doc["user_id"]]
                visits.remove(visit)
                if not visits:
                    del self._unwritten[visit.doc["user_id"]]
            for start in range(0, len(final), self._batch):
                docs = [visit.settle() for visit in final[start : start + self._batch]]
                await self._writer.insert("visits", docs)
        await self._write_day_docs(everything=everything)

    async def _write_day_docs(self, *, everything: bool) -> None:
        for docs, collection in (
            (self._closed_visitor_days, "visitor_days"),
            (self._closed_venue_days, "venue_days"),
        ):
            while len(docs) >= self._batch or (everything and docs):
                await self._writer.insert(collection, docs[: self._batch])
                del docs[: self._batch]

    async def finish(self) -> BulkResult:
        """Write everything still in memory, then the venues and the merged region counters."""
        if self._finished:
            return self.result
        self._finished = True
        self._close_day(everything=True)
        self._day = None
        await self._write_settled_visits(everything=True)
        for doc in self._venue_docs:
            doc["last_checkin_day"] = self._last_day.get(doc["_id"])
        for start in range(0, len(self._venue_docs), self._batch):
            await self._writer.insert("venues", self._venue_docs[start : start + self._batch])
        if self._defer_indexes:
            await self._insert_counters()
        else:
            await self._writer.drain()
            await self._writer.upsert("region_days", merge_region_incs(self._region_incs))
            await self._writer.upsert(
                "region_totals",
                [
                    UpdateOne({"_id": region}, {"$inc": {"venues_active": n}}, upsert=True)
                    for region, n in self._totals.items()
                ],
            )
        await self._writer.drain()
        if self._defer_indexes:
            started = time.perf_counter()
            await self._repos.ensure_indexes()
            self.result.indexing_seconds = time.perf_counter() - started
        return self.result

    async def _insert_counters(self) -> None:
        """Into empty collections: the documents the upserts of `region_day_update` would create."""
        docs = [
            {
                "_id": region_day_id(region, day),
                "region": region,
                "parent": parent_of(region),
                "day": day,
                **inc,
            }
            for (region, day), inc in self._region_incs.items()
        ]
        for start in range(0, len(docs), self._batch):
            await self._writer.insert("region_days", docs[start : start + self._batch])
        totals = [{"_id": region, "venues_active": n} for region, n in self._totals.items()]
        for start in range(0, len(totals), self._batch):
            await self._writer.insert("region_totals", totals[start : start + self._batch])


async def run_bulk_load(
    repos: Repos,
    venues: Iterable[BulkVenue],
    visits: Callable[[list[Venue]], Iterable[BulkVisit]],
    *,
    tz: ZoneInfo,
    retention_days: int,
    progress: Progress | None = None,
    defer_indexes: bool = False,
    batch_size: int = DEFAULT_BATCH,
    now: datetime | None = None,
) -> BulkResult:
    """Load venues, then the visits made at them (computed from the registered venues), as the
    database would hold them at `now` (default: the current time)."""
    async with BulkLoader(
        repos,
        tz=tz,
        retention_days=retention_days,
        progress=progress,
        defer_indexes=defer_indexes,
        batch_size=batch_size,
        now=now,
    ) as loader:
        registered = loader.add_venues(venues)
        await loader.add_visits(visits(registered))
        return await loader.finish()


__all__ = ["BulkLoader", "BulkResult", "BulkVenue", "BulkVisit", "run_bulk_load"]
