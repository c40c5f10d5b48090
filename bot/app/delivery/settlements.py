"""Settlements (sent, failed, retry later) stored in small batches, each caller waiting for its own.

A send slot stays taken until its settlement is stored, so a process killed at any moment
repeats at most the messages on the wire: claims not yet settled are recovered as `sending`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from datetime import datetime, timedelta

from storage.outbox import PENDING, OutboxRepo, QueuedMessage, Settlement

log = logging.getLogger(__name__)


class SettlementWriter:
    """Settlements stored in small batches; each caller waits until its own is stored."""

    def __init__(self, outbox: OutboxRepo, owner: str, *, batch: int, delay: float) -> None:
        self._outbox = outbox
        self._owner = owner
        self._batch = batch
        self._delay = delay
        self._waiting: list[tuple[Settlement, asyncio.Future[None]]] = []
        self._has_items = asyncio.Event()
        self._full = asyncio.Event()

    async def write(self, settlement: Settlement) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((settlement, future))
        self._has_items.set()
        if len(self._waiting) >= self._batch:
            self._full.set()
        await future

    async def run(self) -> None:
        """Write batches until cancelled."""
        while True:
            await self._has_items.wait()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._full.wait(), self._delay)
            await self.flush()

    async def flush(self) -> None:
        batch, self._waiting = self._waiting[: self._batch], self._waiting[self._batch :]
        self._full.clear()
        if not self._waiting:
            self._has_items.clear()
        if not batch:
            return
        try:
            await self._store([settlement for settlement, _ in batch])
        except Exception as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for _, future in batch:
            if not future.done():
                future.set_result(None)

    async def _store(self, settlements: list[Settlement]) -> None:
        for attempt in range(3):
            try:
                await self._outbox.settle(self._owner, settlements)
                return
            except Exception:
                if attempt == 2:
                    raise
                log.warning("storing %d settlements failed; retrying", len(settlements), exc_info=True)
                await asyncio.sleep(0.5 * (attempt + 1))

    async def close(self) -> None:
        while self._waiting:
            await self.flush()


def retry_settlement(
    message: QueuedMessage, reason: str, error: str, now: datetime, *, backoff: float, cap: float
) -> Settlement:
    """Back to `pending` after an exponential backoff, jittered so a failed burst does not retry at once."""
    delay = min(cap, backoff * 2**message.attempts)
    delay *= random.uniform(0.8, 1.2)  # spread the retries of a failed burst
    return Settlement(
        message.key, PENDING, now, reason=reason, error=error, not_before=now + timedelta(seconds=delay)
    )
