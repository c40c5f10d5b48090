"""The scheduled jobs: their table, and the runner that runs each once per period.

A run is recorded in `job_runs` before it starts and marked done at the end, so a restart or
another instance never repeats it. The leader catches up on today's periods whose time has
passed and that did not run.

Jobs, all in QUETMA_TZ:
- owner-summaries, every hour on the hour: the summaries of venues whose summary hour it is;
- official-summaries, at QUETMA_OFFICIAL_SUMMARY_AT: the previous day's report to every subscriber;
- inactive, at 00:10: venues without a check-in in the 3 days ending yesterday, per province;
- auto-checkout, every 5 minutes: visits past their automatic check-out are closed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.app.metrics import Metrics
from bot.clock import Clock
from storage.jobs import JobRunRepo

log = logging.getLogger(__name__)

OWNER_SUMMARIES = "owner-summaries"
OFFICIAL_SUMMARIES = "official-summaries"
AUTO_CHECKOUT = "auto-checkout"
INACTIVE = "inactive"
JOB_NAMES = (OWNER_SUMMARIES, OFFICIAL_SUMMARIES, AUTO_CHECKOUT, INACTIVE)

INACTIVE_AT = time(0, 10)
STALE_RUN = timedelta(hours=1)  # a run still "running" this long is taken over by the leader


@dataclass(frozen=True)
class JobTable:
    """What each job calls (one use case each, built by the composition root) and when the daily report goes."""

    owner_summaries: Callable[[date, int | None], Awaitable[int]]  # (local day, summary hour) -> queued
    official_reports: Callable[[date], Awaitable[int]]  # (day reported) -> queued
    inactive_counts: Callable[[date], Awaitable[dict[str, int]]]  # (day) -> region -> inactive venues
    auto_checkout: Callable[[datetime], Awaitable[int]]  # (now) -> visits closed
    official_reports_at: time  # local time of the officials' morning report


@dataclass(frozen=True)
class JobOutcome:
    """What one call of a job did."""

    job: str
    period: str
    ran: bool  # False when the period had already run (or runs elsewhere)
    result: dict[str, Any] = field(default_factory=dict)


def hour_period(day: date, hour: int) -> str:
    return f"{day.isoformat()}T{hour:02d}"


class JobRunner:
    """Runs each job once per period, recorded in `job_runs`."""

    def __init__(
        self,
        jobs: JobTable,
        runs: JobRunRepo,
        *,
        clock: Clock,
        tz: ZoneInfo,
        owner: str,
        metrics: Metrics | None = None,
    ) -> None:
        self.jobs = jobs
        self.owner = owner
        self.metrics = metrics
        self.leader_since: datetime | None = None
        self._runs = runs
        self._clock = clock
        self._tz = tz
        self._running: set[tuple[str, str]] = set()

    def _stale_before(self, now: datetime) -> datetime:
        # Runs started before this instance became leader belong to a previous leader, dead or deposed.
        since = self.leader_since or now - STALE_RUN
        return max(since, now - STALE_RUN)

    async def run_period(
        self,
        job: str,
        period: str,
        action: Callable[[], Awaitable[dict[str, Any]]],
        *,
        force: bool = False,
    ) -> JobOutcome:
        """Run `action` for (job, period) unless it already ran; record the outcome."""
        key = (job, period)
        if key in self._running:
            return JobOutcome(job, period, ran=False)
        now = self._clock.now()
        if not await self._runs.begin(
            job, period, self.owner, now, stale_before=self._stale_before(now), force=force
        ):
            return JobOutcome(job, period, ran=False)
        self._running.add(key)
        try:
            result = await action()
        except Exception as exc:
            log.exception("job %s for %s failed", job, period)
            await self._runs.fail(job, period, self.owner, self._clock.now(), f"{type(exc).__name__}: {exc}")
            self._count(job, "failed")
            raise
        finally:
            self._running.discard(key)
        await self._runs.finish(job, period, self.owner, self._clock.now(), result)
        self._count(job, "done")
        log.info("job %s for %s done: %s", job, period, result)
        return JobOutcome(job, period, ran=True, result=result)

    def _count(self, job: str, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.job_runs.labels(job, outcome).inc()

    # -- the jobs ---------------------------------------------------------------------------------

    async def owner_summaries(self, day: date, hour: int | None, *, force: bool = False) -> JobOutcome:
        """Queue the summaries of venues whose summary hour is `hour` (every venue when None)."""

        async def action() -> dict[str, Any]:
            return {"queued": await self.jobs.owner_summaries(day, hour)}

        period = hour_period(day, hour) if hour is not None else day.isoformat()
        return await self.run_period(OWNER_SUMMARIES, period, action, force=force)

    async def official_summaries(self, day: date, *, force: bool = False) -> JobOutcome:
        """Queue the report of `day` (the day before the run) to every subscribed official."""

        async def action() -> dict[str, Any]:
            return {"queued": await self.jobs.official_reports(day)}

        return await self.run_period(OFFICIAL_SUMMARIES, day.isoformat(), action, force=force)

    async def inactive(self, day: date, *, force: bool = False) -> JobOutcome:
        """Count inactive venues per province for `day` and keep the counts with the run."""

        async def action() -> dict[str, Any]:
            counts = await self.jobs.inactive_counts(day)
            self.publish_inactive(counts)
            return {"regions": counts}

        return await self.run_period(INACTIVE, day.isoformat(), action, force=force)

    def publish_inactive(self, counts: dict[str, int]) -> None:
        if self.metrics is not None:
            for region, count in counts.items():
                self.metrics.inactive_venues.labels(region).set(count)

    async def auto_checkout(self) -> int:
        """Close visits past their automatic check-out; idempotent, so not bound to periods."""
        closed = await self.jobs.auto_checkout(self._clock.now())
        if self.metrics is not None:
            self.metrics.auto_checkouts.inc(closed)
        if closed:
            log.info("auto check-out closed %d visits", closed)
        return closed

    # -- when they run ----------------------------------------------------------------------------

    async def run_current(self, job: str) -> None:
        """A trigger fired: run `job` for the period that just began."""
        now = self._clock.now().astimezone(self._tz)
        yesterday = now.date() - timedelta(days=1)
        if job == OWNER_SUMMARIES:
            await self.owner_summaries(now.date(), now.hour)
        elif job == OFFICIAL_SUMMARIES:
            await self.official_summaries(yesterday)
        elif job == INACTIVE:
            await self.inactive(yesterday)
        elif job == AUTO_CHECKOUT:
            await self.auto_checkout()
        else:
            await self.catch_up()

    async def catch_up(self) -> list[JobOutcome]:
        """Run today's periods whose time has passed and that have not run (once each)."""
        local_now = self._clock.now().astimezone(self._tz)
        today = local_now.date()
        outcomes: list[JobOutcome] = []
        done = await self._runs.periods(OWNER_SUMMARIES, hour_period(today, 0), hour_period(today, 23))
        for hour in range(local_now.hour + 1):
            run = done.get(hour_period(today, hour))
            if run is None or run.state != "done":
                outcomes.append(await self._guarded(self.owner_summaries(today, hour)))
        if local_now.time() >= self.jobs.official_reports_at:
            outcomes.append(await self._guarded(self.official_summaries(today - timedelta(days=1))))
        if local_now.time() >= INACTIVE_AT:
            outcomes.append(await self._guarded(self.inactive(today - timedelta(days=1))))
        return [outcome for outcome in outcomes if outcome.ran]

    async def _guarded(self, job: Awaitable[JobOutcome]) -> JobOutcome:
        """One failed job must not stop the others (its failure is recorded and retried later)."""
        try:
            return await job
        except Exception:
            return JobOutcome("", "", ran=False)

    async def run_named(self, name: str, day: date | None = None, hour: int | None = None) -> JobOutcome:
        """Run a job now whatever was recorded (operators): queueing is idempotent."""
        today = self._clock.now().astimezone(self._tz).date()
        if name == OWNER_SUMMARIES:
            return await self.owner_summaries(day or today, hour, force=True)
        if name == OFFICIAL_SUMMARIES:
            return await self.official_summaries(day or today - timedelta(days=1), force=True)
        if name == INACTIVE:
            return await self.inactive(day or today - timedelta(days=1), force=True)
        if name == AUTO_CHECKOUT:
            closed = await self.auto_checkout()
            return JobOutcome(
                AUTO_CHECKOUT, self._clock.now().isoformat(), ran=True, result={"closed": closed}
            )
        raise ValueError(f"unknown job {name!r}")
