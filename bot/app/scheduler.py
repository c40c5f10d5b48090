"""Scheduled jobs, and the lease that decides which instance runs them and the sender.

Every instance runs PTB's JobQueue, but a job only does something on the instance holding
the leader lease. Each job runs once per period: the run is recorded in `job_runs` before
it starts and marked done at the end, so a restart or another instance never repeats it.
When an instance becomes leader (at start, or taking over from one that died) it catches
up on today's periods whose time has passed and that did not run.

Jobs, all in QUETMA_TZ:
- owner-summaries, every hour on the hour: the summaries of venues whose summary hour it is;
- official-summaries, at QUETMA_OFFICIAL_SUMMARY_AT: the previous day's report to every subscriber;
- inactive, at 00:10: venues without a check-in in the 3 days ending yesterday, per province;
- auto-checkout, every 5 minutes: visits past their automatic check-out are closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from telegram import Bot
from telegram.ext import Application

from bot.app.context import BotContext
from bot.app.delivery import DeliveryConfig, Sender, build_sender_bot
from bot.app.metrics import Metrics
from bot.clock import local_day
from bot.reports import venues_total_at
from bot.services import Services
from storage.counters import INACTIVE_WINDOW_DAYS

log = logging.getLogger(__name__)

OWNER_SUMMARIES = "owner-summaries"
OFFICIAL_SUMMARIES = "official-summaries"
AUTO_CHECKOUT = "auto-checkout"
INACTIVE = "inactive"
JOB_NAMES = (OWNER_SUMMARIES, OFFICIAL_SUMMARIES, AUTO_CHECKOUT, INACTIVE)

LEASE_NAME = "leader"
LEASE_TTL = timedelta(seconds=30)
RENEW_EVERY = 10.0  # seconds; an instance takes a dead holder's lease within TTL + RENEW_EVERY
STEP_DOWN_AFTER = 0.8  # share of the TTL after the last renewal at which a holder that cannot renew stops
INACTIVE_AT = time(0, 10)
AUTO_CHECKOUT_EVERY = 300.0
CATCH_UP_EVERY = 60.0
STALE_RUN = timedelta(hours=1)  # a run still "running" this long is taken over by the leader


def instance_name() -> str:
    """A name for this process, unique across hosts and restarts."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class JobOutcome:
    """What one call of a job did."""

    job: str
    period: str
    ran: bool  # False when the period had already run (or runs elsewhere)
    result: dict[str, Any] = field(default_factory=dict)


def hour_period(day: date, hour: int) -> str:
    return f"{day.isoformat()}T{hour:02d}"


async def inactive_counts(services: Services, day: date) -> dict[str, int]:
    """Venues registered 3+ days before `day` without a check-in in the 3 days ending `day`.

    For the country and each province: the same arithmetic as the officials' report.
    """
    stats = services.repos.stats
    first = (day - timedelta(days=INACTIVE_WINDOW_DAYS - 1)).isoformat()
    counts: dict[str, int] = {}
    for region in [services.regions.country(), *services.regions.provinces()]:
        days = await stats.region_days(region.id, first, day.isoformat())
        total = await venues_total_at(stats, region.id, day)
        if total == 0 and not days:
            continue
        recent_new = sum(d.venues_new for d in days.values())
        today = days.get(day.isoformat())
        active = today.active3 if today else 0
        counts[region.id] = max(0, total - recent_new - active)
    return counts


class JobRunner:
    """Runs each job once per period, recorded in `job_runs`."""

    def __init__(self, services: Services, *, owner: str, metrics: Metrics | None = None) -> None:
        self.services = services
        self.owner = owner
        self.metrics = metrics
        self.leader_since: datetime | None = None
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
        runs = self.services.repos.job_runs
        now = self.services.now()
        if not await runs.begin(
            job, period, self.owner, now, stale_before=self._stale_before(now), force=force
        ):
            return JobOutcome(job, period, ran=False)
        self._running.add(key)
        try:
            result = await action()
        except Exception as exc:
            log.exception("job %s for %s failed", job, period)
            await runs.fail(job, period, self.owner, self.services.now(), f"{type(exc).__name__}: {exc}")
            self._count(job, "failed")
            raise
        finally:
            self._running.discard(key)
        await runs.finish(job, period, self.owner, self.services.now(), result)
        self._count(job, "done")
        log.info("job %s for %s done: %s", job, period, result)
        return JobOutcome(job, period, ran=True, result=result)

    def _count(self, job: str, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.job_runs.labels(job, outcome).inc()

    # -- the jobs ---------------------------------------------------------------------------------

    async def owner_summaries(self, day: date, hour: int | None, *, force: bool = False) -> JobOutcome:
        """Queue the summaries of venues whose summary hour is `hour` (every venue when None)."""
        from bot.summaries import queue_owner_summaries

        async def action() -> dict[str, Any]:
            return {"queued": await queue_owner_summaries(self.services, day, hour)}

        period = hour_period(day, hour) if hour is not None else day.isoformat()
        return await self.run_period(OWNER_SUMMARIES, period, action, force=force)

    async def official_summaries(self, day: date, *, force: bool = False) -> JobOutcome:
        """Queue the report of `day` (the day before the run) to every subscribed official."""
        from bot.officials import queue_official_reports

        async def action() -> dict[str, Any]:
            return {"queued": await queue_official_reports(self.services, day)}

        return await self.run_period(OFFICIAL_SUMMARIES, day.isoformat(), action, force=force)

    async def inactive(self, day: date, *, force: bool = False) -> JobOutcome:
        """Count inactive venues per province for `day` and keep the counts with the run."""

        async def action() -> dict[str, Any]:
            counts = await inactive_counts(self.services, day)
            self.publish_inactive(counts)
            return {"regions": counts}

        return await self.run_period(INACTIVE, day.isoformat(), action, force=force)

    def publish_inactive(self, counts: dict[str, int]) -> None:
        if self.metrics is not None:
            for region, count in counts.items():
                self.metrics.inactive_venues.labels(region).set(count)

    async def auto_checkout(self) -> int:
        """Close visits past their automatic check-out; idempotent, so not bound to periods."""
        closed = await self.services.repos.checkins.auto_check_out(self.services.now())
        if self.metrics is not None:
            self.metrics.auto_checkouts.inc(closed)
        if closed:
            log.info("auto check-out closed %d visits", closed)
        return closed

    # -- catching up ------------------------------------------------------------------------------

    async def catch_up(self) -> list[JobOutcome]:
        """Run today's periods whose time has passed and that have not run (once each)."""
        tz = self.services.settings.tz
        local_now = self.services.now().astimezone(tz)
        today = local_now.date()
        outcomes: list[JobOutcome] = []
        done = await self.services.repos.job_runs.periods(
            OWNER_SUMMARIES, hour_period(today, 0), hour_period(today, 23)
        )
        for hour in range(local_now.hour + 1):
            run = done.get(hour_period(today, hour))
            if run is None or run.state != "done":
                outcomes.append(await self._guarded(self.owner_summaries(today, hour)))
        if local_now.time() >= self.services.settings.official_summary_at:
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
        today = local_day(self.services.now(), self.services.settings.tz)
        if name == OWNER_SUMMARIES:
            return await self.owner_summaries(day or today, hour, force=True)
        if name == OFFICIAL_SUMMARIES:
            return await self.official_summaries(day or today - timedelta(days=1), force=True)
        if name == INACTIVE:
            return await self.inactive(day or today - timedelta(days=1), force=True)
        if name == AUTO_CHECKOUT:
            closed = await self.auto_checkout()
            return JobOutcome(
                AUTO_CHECKOUT, self.services.now().isoformat(), ran=True, result={"closed": closed}
            )
        raise ValueError(f"unknown job {name!r}")


class Scheduler:
    """This instance's background work: the lease and, while holding it, the jobs and the sender."""

    def __init__(
        self,
        services: Services,
        *,
        metrics: Metrics | None = None,
        sender_bot: Bot | None = None,
        delivery: DeliveryConfig | None = None,
        instance: str | None = None,
        lease_ttl: timedelta = LEASE_TTL,
        renew_every: float = RENEW_EVERY,
    ) -> None:
        self.services = services
        self.instance = instance or instance_name()
        self.metrics = metrics
        self.runner = JobRunner(services, owner=self.instance, metrics=metrics)
        self.lease_ttl = lease_ttl
        self.renew_every = renew_every
        self._sender_bot = sender_bot
        self._delivery = delivery or DeliveryConfig.from_settings(services.settings)
        self._leader = False
        self._valid_until: datetime | None = None
        self._sender: Sender | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._sender_task: asyncio.Task[None] | None = None
        self._lease_task: asyncio.Task[None] | None = None

    @property
    def is_leader(self) -> bool:
        return self._leader

    @property
    def sender(self) -> Sender | None:
        return self._sender

    def status(self) -> dict[str, Any]:
        """For /healthz."""
        sender: dict[str, Any] = self._sender.status() if self._sender else {"running": False}
        return {"instance": self.instance, "leader": self._leader, "sender": sender}

    # -- the lease --------------------------------------------------------------------------------

    async def step(self) -> bool:
        """Take or renew the lease once; start or stop the leader's work accordingly."""
        now = self.services.now()
        try:
            held = await self.services.repos.leases.acquire(LEASE_NAME, self.instance, now, self.lease_ttl)
        except Exception:
            log.warning("could not renew the leader lease", exc_info=True)
            # Keep leading only while the lease taken earlier surely still holds.
            held = self._leader and self._valid_until is not None and now < self._valid_until
        else:
            if held:
                self._valid_until = now + self.lease_ttl * STEP_DOWN_AFTER
        if held and not self._leader:
            await self._elected(now)
        elif not held and self._leader:
            await self._deposed()
        return held

    async def _elected(self, now: datetime) -> None:
        log.info("instance %s holds the lease: running jobs and the sender", self.instance)
        self._leader = True
        self.runner.leader_since = now
        if self.metrics is not None:
            self.metrics.leader.set(1)
        if self._sender_bot is not None:
            self._sender = Sender(
                self.services.repos.outbox,
                self.services.repos.users,
                self._sender_bot,
                config=self._delivery,
                clock=self.services.clock,
                owner=self.instance,
                metrics=self.metrics,
            )
            self._sender_task = self._own(self._sender.run, "sender")
        self._own(self.catch_up, "catch-up")

    async def _deposed(self) -> None:
        log.warning("instance %s lost the lease: stopping jobs and the sender", self.instance)
        self._leader = False
        self.runner.leader_since = None
        if self.metrics is not None:
            self.metrics.leader.set(0)
        await self._stop_sender()

    async def _stop_sender(self) -> None:
        if self._sender is not None:
            self._sender.stop()
        if self._sender_task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._sender_task
        self._sender_task = None

    async def _hold_lease(self) -> None:
        while True:
            await self.step()
            await asyncio.sleep(self.renew_every)

    def _own(self, work: Callable[[], Awaitable[Any]], name: str) -> asyncio.Task[Any]:
        async def guarded() -> Any:
            try:
                return await work()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("background task %s failed", name)
                return None

        task = asyncio.create_task(guarded(), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def start(self) -> None:
        """Start holding (or waiting for) the lease in the background."""
        if self._lease_task is None:
            self._lease_task = asyncio.create_task(self._hold_lease(), name="leader-lease")

    async def stop(self) -> None:
        """Stop every owned task and give the lease up so another instance takes over at once."""
        if self._lease_task is not None:
            self._lease_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._lease_task
            self._lease_task = None
        await self._stop_sender()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._leader:
            self._leader = False
            with contextlib.suppress(Exception):
                await self.services.repos.leases.release(LEASE_NAME, self.instance)
            if self.metrics is not None:
                self.metrics.leader.set(0)

    # -- jobs -------------------------------------------------------------------------------------

    async def catch_up(self) -> list[JobOutcome]:
        if not self._leader:
            return []
        return await self.runner.catch_up()

    async def tick(self, job: str) -> None:
        """A JobQueue trigger: run `job` for the current period if this instance leads."""
        if not self._leader:
            return
        now = self.services.now().astimezone(self.services.settings.tz)
        try:
            if job == OWNER_SUMMARIES:
                await self.runner.owner_summaries(now.date(), now.hour)
            elif job == OFFICIAL_SUMMARIES:
                await self.runner.official_summaries(now.date() - timedelta(days=1))
            elif job == INACTIVE:
                await self.runner.inactive(now.date() - timedelta(days=1))
            elif job == AUTO_CHECKOUT:
                await self.runner.auto_checkout()
            else:
                await self.runner.catch_up()
        except Exception:
            log.exception("scheduled job %s failed", job)

    def install(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """Register the triggers on PTB's JobQueue (APScheduler), in the local time zone."""
        queue = app.job_queue
        if queue is None:
            raise RuntimeError("python-telegram-bot was installed without the job-queue extra")
        tz = self.services.settings.tz

        def trigger(job: str) -> Callable[[BotContext], Coroutine[Any, Any, None]]:
            async def callback(context: BotContext) -> None:
                await self.tick(job)

            return callback

        queue.run_custom(
            trigger(OWNER_SUMMARIES),
            job_kwargs={"trigger": "cron", "minute": 0, "second": 5, "timezone": tz},
            name=OWNER_SUMMARIES,
        )
        official_at = self.services.settings.official_summary_at.replace(tzinfo=tz)
        queue.run_daily(trigger(OFFICIAL_SUMMARIES), time=official_at, name=OFFICIAL_SUMMARIES)
        queue.run_daily(trigger(INACTIVE), time=INACTIVE_AT.replace(tzinfo=tz), name=INACTIVE)
        queue.run_repeating(
            trigger(AUTO_CHECKOUT), interval=AUTO_CHECKOUT_EVERY, first=30, name=AUTO_CHECKOUT
        )
        queue.run_repeating(
            trigger("catch-up"), interval=CATCH_UP_EVERY, first=CATCH_UP_EVERY, name="catch-up"
        )


@asynccontextmanager
async def background(
    app: Application[Any, Any, Any, Any, Any, Any], services: Services, metrics: Metrics
) -> AsyncIterator[Scheduler]:
    """The scheduler and sender of a running bot (polling or webhook), stopped on exit."""
    settings = services.settings
    delivery = DeliveryConfig.from_settings(settings)
    sender_bot = build_sender_bot(settings, connections=delivery.concurrency)
    await sender_bot.initialize()
    scheduler = Scheduler(services, metrics=metrics, sender_bot=sender_bot, delivery=delivery)
    scheduler.install(app)
    await scheduler.start()
    try:
        yield scheduler
    finally:
        await scheduler.stop()
        await sender_bot.shutdown()
