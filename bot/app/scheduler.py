"""The lease that decides which instance runs the scheduled jobs and the sender, and the triggers.

Every instance runs PTB's JobQueue, but a trigger only does something on the instance holding
the leader lease; the jobs themselves (what each does, once per period) are in `bot.app.jobs`.
When an instance becomes leader (at start, or taking over from one that died) it catches up
on today's periods whose time has passed and that did not run.
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
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from telegram.ext import Application, CallbackContext

from bot.app.delivery import DeliveryConfig, Sender, build_sender_bot
from bot.app.jobs import (
    AUTO_CHECKOUT,
    INACTIVE,
    INACTIVE_AT,
    OFFICIAL_SUMMARIES,
    OWNER_SUMMARIES,
    JobOutcome,
    JobRunner,
    JobTable,
)
from bot.app.metrics import Metrics
from bot.app.settings import Settings
from bot.clock import Clock
from storage.database import Repos
from storage.jobs import JobRunRepo, LeaseRepo

log = logging.getLogger(__name__)

LEASE_NAME = "leader"
LEASE_TTL = timedelta(seconds=30)
RENEW_EVERY = 10.0  # seconds; an instance takes a dead holder's lease within TTL + RENEW_EVERY
STEP_DOWN_AFTER = 0.8  # share of the TTL after the last renewal at which a holder that cannot renew stops
AUTO_CHECKOUT_EVERY = 300.0
CATCH_UP_EVERY = 60.0

SenderFactory = Callable[[str], Sender]  # the sender of the instance named by its argument


def instance_name() -> str:
    """A name for this process, unique across hosts and restarts."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class Scheduler:
    """This instance's background work: the lease and, while holding it, the jobs and the sender."""

    def __init__(
        self,
        jobs: JobTable,
        *,
        leases: LeaseRepo,
        job_runs: JobRunRepo,
        clock: Clock,
        tz: ZoneInfo,
        sender: SenderFactory | None = None,
        metrics: Metrics | None = None,
        instance: str | None = None,
        lease_ttl: timedelta = LEASE_TTL,
        renew_every: float = RENEW_EVERY,
    ) -> None:
        self.instance = instance or instance_name()
        self.metrics = metrics
        self.runner = JobRunner(jobs, job_runs, clock=clock, tz=tz, owner=self.instance, metrics=metrics)
        self.lease_ttl = lease_ttl
        self.renew_every = renew_every
        self._jobs = jobs
        self._leases = leases
        self._clock = clock
        self._tz = tz
        self._make_sender = sender
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
        now = self._clock.now()
        try:
            held = await self._leases.acquire(LEASE_NAME, self.instance, now, self.lease_ttl)
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
        if self._make_sender is not None:
            self._sender = self._make_sender(self.instance)
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
                await self._leases.release(LEASE_NAME, self.instance)
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
        try:
            await self.runner.run_current(job)
        except Exception:
            log.exception("scheduled job %s failed", job)

    def install(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """Register the triggers on PTB's JobQueue (APScheduler), in the local time zone."""
        queue = app.job_queue
        if queue is None:
            raise RuntimeError("python-telegram-bot was installed without the job-queue extra")
        tz = self._tz

        def trigger(job: str) -> Callable[[CallbackContext[Any, Any, Any, Any]], Coroutine[Any, Any, None]]:
            async def callback(context: CallbackContext[Any, Any, Any, Any]) -> None:
                await self.tick(job)

            return callback

        queue.run_custom(
            trigger(OWNER_SUMMARIES),
            job_kwargs={"trigger": "cron", "minute": 0, "second": 5, "timezone": tz},
            name=OWNER_SUMMARIES,
        )
        official_at = self._jobs.official_reports_at.replace(tzinfo=tz)
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
    app: Application[Any, Any, Any, Any, Any, Any],
    jobs: JobTable,
    *,
    settings: Settings,
    repos: Repos,
    clock: Clock,
    metrics: Metrics,
) -> AsyncIterator[Scheduler]:
    """The scheduler and sender of a running bot (polling or webhook), stopped on exit."""
    delivery = DeliveryConfig.from_settings(settings)
    sender_bot = build_sender_bot(settings, connections=delivery.concurrency)

    def sender(owner: str) -> Sender:
        return Sender(
            repos.outbox, repos.users, sender_bot, config=delivery, clock=clock, owner=owner, metrics=metrics
        )

    await sender_bot.initialize()
    scheduler = Scheduler(
        jobs,
        leases=repos.leases,
        job_runs=repos.job_runs,
        clock=clock,
        tz=settings.tz,
        sender=sender,
        metrics=metrics,
    )
    scheduler.install(app)
    await scheduler.start()
    try:
        yield scheduler
    finally:
        await scheduler.stop()
        await sender_bot.shutdown()
