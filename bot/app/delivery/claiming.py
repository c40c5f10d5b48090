"""Claiming: due messages taken from the outbox into the sender's local queue, a batch ahead of need."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from datetime import timedelta

from bot.app.delivery.pacing import DeliveryConfig, Pacer
from bot.app.delivery.queue import ReadyQueue
from bot.app.delivery.stats import SenderStats
from bot.clock import Clock
from storage.outbox import OutboxRepo

log = logging.getLogger(__name__)

EXPIRY_SWEEP_EVERY = 60.0  # seconds between looks for claims whose lease ran out


class Claimer:
    """Keeps the local queue fed: one claim at a time, started when it runs low."""

    def __init__(
        self,
        outbox: OutboxRepo,
        owner: str,
        ready: ReadyQueue,
        pacer: Pacer,
        *,
        config: DeliveryConfig,
        clock: Clock,
        monotonic: Callable[[], float],
        stats: SenderStats,
        wake: asyncio.Event,
    ) -> None:
        self._outbox = outbox
        self._owner = owner
        self._ready = ready
        self._pacer = pacer
        self._config = config
        self._clock = clock
        self._monotonic = monotonic
        self._stats = stats
        self._wake = wake
        self.task: asyncio.Task[int] | None = None  # the claim under way
        self.next_claim = -math.inf  # monotonic moment before which an empty outbox is not asked again
        self._next_expiry_sweep = -math.inf

    def maybe_start(self) -> None:
        """Start a claim in the background when the local queue runs low and the outbox may have more."""
        now = self._monotonic()
        if (
            self.task is not None
            or len(self._ready) >= self._config.low_water
            or now < self.next_claim
            or now < self._pacer.paused_until
        ):
            return
        self.task = asyncio.create_task(self.claim(), name="outbox-claim")

    async def claim(self) -> int:
        """Claim a batch into the local queue; how many were claimed."""
        try:
            return await self._claim_batch()
        except Exception:
            log.warning("claiming from the outbox failed; trying again shortly", exc_info=True)
            self.next_claim = self._monotonic() + self._config.poll_interval
            return 0
        finally:
            self.task = None

    async def _claim_batch(self) -> int:
        moment = self._clock.now()
        if self._monotonic() >= self._next_expiry_sweep:
            self._next_expiry_sweep = self._monotonic() + EXPIRY_SWEEP_EVERY
            self._stats.recovered += await self._outbox.requeue_expired(moment)
        claimed = await self._outbox.claim(
            self._owner, moment, limit=self._config.batch_size, lease=self._config.claim_lease
        )
        self._stats.claimed += len(claimed)
        if not claimed:
            self.next_claim = self._monotonic() + self._config.poll_interval
            return 0
        later = self._ready.place(
            claimed,
            self._monotonic(),
            chat_ready_at=self._pacer.chat_ready_at,
            gap=self._pacer.chat_gap,
            horizon=self._config.defer_horizon,
        )
        if later:
            # One chat has more than a few messages waiting: the rest go back for later claims.
            when = moment + timedelta(seconds=self._config.defer_horizon)
            await self._outbox.release(self._owner, [m.key for m in later], when)
        self._wake.set()
        return len(claimed)
