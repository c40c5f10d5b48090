"""The sender: claims due messages from the outbox and sends them through PTB's Bot, paced.

Crash safety: a message is claimed (`sending`) before it is sent and settled (`sent`) right
after Telegram accepted it, and a send slot stays taken until that settlement is stored.
A process killed at any moment leaves its claims in `sending`; the next sender puts them
back. So nothing is lost, and the only messages that can go out twice are those on the
wire at the kill: at most `concurrency`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from telegram import Bot

from bot.app.delivery.claim_check import ClaimCheck
from bot.app.delivery.claiming import Claimer
from bot.app.delivery.errors import SendFailure, Verdict, classify
from bot.app.delivery.pacing import DeliveryConfig, Pacer
from bot.app.delivery.queue import ReadyQueue
from bot.app.delivery.settlements import SettlementWriter, retry_settlement
from bot.app.delivery.stats import SenderStats, Tally
from bot.app.delivery.transport import send_queued
from bot.app.metrics import Metrics
from bot.clock import Clock, SystemClock
from storage.outbox import DROPPED, FAILED, SENT, OutboxRepo, QueuedMessage, Settlement
from storage.users import UserRepo

log = logging.getLogger(__name__)


GONE_FOR = 60.0  # seconds a chat found unreachable is skipped without asking Telegram again


class Sender:
    """Claims due messages from the outbox and sends them through PTB's Bot, paced."""

    def __init__(
        self,
        outbox: OutboxRepo,
        users: UserRepo,
        bot: Bot,
        *,
        config: DeliveryConfig,
        clock: Clock | None = None,
        owner: str | None = None,
        metrics: Metrics | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.owner = owner or f"sender-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.config = config
        self._tally = Tally(metrics)
        self.pacer = Pacer(
            config.rate,
            chat_interval=config.chat_interval,
            margin=config.margin,
            recovery_step=config.recovery_step,
            recovery_interval=config.recovery_interval,
        )
        self._outbox = outbox
        self._users = users
        self._bot = bot
        self._clock: Clock = clock or SystemClock()
        self._monotonic = monotonic
        self._ready = ReadyQueue()
        # Chats just found unreachable, with the reason and until when: messages to them already on
        # their way out are dropped here, before the database has heard of it. A minute is enough
        # for that, and a person who unblocks the bot later is reached again.
        self._gone: dict[int, tuple[str, float]] = {}
        self._slots = asyncio.Semaphore(config.concurrency)
        self._in_flight: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._claimer = Claimer(
            outbox,
            self.owner,
            self._ready,
            self.pacer,
            config=config,
            clock=self._clock,
            monotonic=monotonic,
            stats=self._tally.stats,
            wake=self._wake,
        )
        self._stopping = False
        self._running = False
        self._writer = SettlementWriter(
            outbox, self.owner, batch=config.settle_batch, delay=config.settle_delay
        )
        self._claims = ClaimCheck(outbox, self.owner)

    # -- control ----------------------------------------------------------------------------------

    @property
    def stats(self) -> SenderStats:
        return self._tally.stats

    @property
    def running(self) -> bool:
        return self._running

    @property
    def queued(self) -> int:
        """Messages claimed and waiting for their turn in this process."""
        return len(self._ready)

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def stop(self) -> None:
        """Ask `run` to finish: in-flight sends complete, untried claims go back to the outbox."""
        self._stopping = True
        self._wake.set()

    def status(self) -> dict[str, Any]:
        """For /healthz and logs."""
        return {
            "running": self._running,
            "owner": self.owner,
            "rate": round(self.pacer.rate, 2),
            "queued": self.queued,
            "in_flight": self.in_flight,
            "sent": self.stats.sent,
            "failed": self.stats.failed,
            "dropped": self.stats.dropped,
            "retried": self.stats.retried,
            "flood_waits": self.stats.flood_waits,
        }

    async def run(self, *, until_idle: bool = False) -> None:
        """Send until stopped or cancelled; with `until_idle`, return once nothing is due any more."""
        self._running = True
        self._stopping = False
        self.stats.recovered += await self._outbox.recover(self.owner, self._clock.now())
        writer = asyncio.create_task(self._writer.run(), name="outbox-settlements")
        self._tally.rate(self.pacer.rate)
        try:
            while not self._stopping:
                self._claimer.maybe_start()
                if not self._ready:
                    if self._claimer.task is not None:
                        await asyncio.wait([self._claimer.task])
                        continue
                    if until_idle and await self._idle():
                        break
                    resume = max(self._claimer.next_claim, self.pacer.paused_until)
                    await self._nap(max(0.01, resume - self._monotonic()))
                    continue
                await self._dispatch_head()
        finally:
            await self._wind_down(writer)
            self._running = False

    # -- dispatching ------------------------------------------------------------------------------

    async def _dispatch_head(self) -> None:
        head = self._ready.head
        now = self._monotonic()
        at = max(head.ready_at, self.pacer.ready_at(head.message.chat_id, now))
        if at > now:
            await self._nap(at - now)
            return
        await self._slots.acquire()
        now = self._monotonic()
        if not self._ready or self._ready.head is not head or self._stopping:
            self._slots.release()
            return
        if self.pacer.ready_at(head.message.chat_id, now) > now:
            self._slots.release()  # a 429 arrived while waiting for a slot
            return
        self._ready.pop()
        self.pacer.grant(head.message.chat_id, now)
        task = asyncio.create_task(self._deliver(head.message), name=f"send:{head.message.key}")
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def _nap(self, seconds: float) -> None:
        """Wait up to `seconds`, or until new work or a stop request arrives."""
        self._wake.clear()
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), min(seconds, self.config.poll_interval))

    async def _idle(self) -> bool:
        """Nothing queued here, nothing on the wire, and nothing due in the outbox.

        Only one-off drains ask this, and they run alone: a claim still held by another sender
        is a dead one's. The server may even apply such a claim after this sender recovered the
        others at its start (a killed sender's last bulk write is carried out anyway), so those
        are taken back too before calling the outbox drained.
        """
        if self._in_flight:
            await asyncio.wait(set(self._in_flight))
            return False
        if self._ready or await self._claimer.claim() > 0:
            return False
        recovered = await self._outbox.recover(self.owner, self._clock.now())
        self.stats.recovered += recovered
        return recovered == 0

    async def _wind_down(self, writer: asyncio.Task[None]) -> None:
        self._stopping = True
        if self._claimer.task is not None:
            # Let a claim finish, so what it took is in the local queue and released below.
            await asyncio.wait([self._claimer.task], timeout=self.config.shutdown_grace)
        if self._in_flight:
            _, late = await asyncio.wait(set(self._in_flight), timeout=self.config.shutdown_grace)
            for task in late:  # still on the wire: their claims stay and are recovered by the next sender
                task.cancel()
        try:
            await self._claims.close()
            await self._writer.close()
            untried = [message.key for message in self._ready.take_all()]
            await self._outbox.release(self.owner, untried, self._clock.now())
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer

    # -- one message ------------------------------------------------------------------------------

    async def _deliver(self, message: QueuedMessage) -> None:
        try:
            if not await self._claims.held(message.key):
                # Cancelled while it waited here (its recipient used /forget) or taken back.
                self.stats.dropped += 1
                return
            gone = self._gone.get(message.chat_id)
            if gone is not None and gone[1] > self._monotonic():
                self.stats.dropped += 1
                self._tally.failed(gone[0])
                now = self._clock.now()
                await self._writer.write(
                    Settlement(message.key, DROPPED, now, reason=gone[0], attempted=False)
                )
                return
            settlement = await self._attempt(message)
            if settlement is not None:
                await self._writer.write(settlement)
        except Exception:
            log.exception("settling message %s failed; it stays claimed until recovered", message.key)
        finally:
            self._slots.release()

    async def _attempt(self, message: QueuedMessage) -> Settlement | None:
        """Send one message; how to settle it (None: it went back to the queue)."""
        try:
            sent = await send_queued(self._bot, message, paid_broadcast=self.config.paid_broadcast)
        except Exception as exc:
            failure = classify(exc)
            if failure.reason == "error":
                log.exception("unexpected error sending %s", message.key)
            elif failure.reason == "invalid-token":
                log.error("Telegram refused the bot token while sending; check BOT_TOKEN")
            return await self._failed_send(message, failure)
        self._tally.sent(message.kind)
        return Settlement(message.key, SENT, self._clock.now(), message_id=sent.message_id)

    async def _failed_send(self, message: QueuedMessage, failure: SendFailure) -> Settlement | None:
        if failure.verdict is Verdict.FLOOD:
            await self._flood(message, failure.retry_after)
            return None
        if failure.verdict is Verdict.UNREACHABLE:
            return await self._unreachable(message, failure)
        if failure.verdict is Verdict.RETRY and message.attempts + 1 < self.config.max_attempts:
            self._tally.retried(failure.reason)
            return retry_settlement(
                message,
                failure.reason,
                failure.error,
                self._clock.now(),
                backoff=self.config.backoff,
                cap=self.config.backoff_cap,
            )
        self._tally.failed(failure.reason)
        log.warning("message %s failed for good: %s", message.key, failure.reason)
        return Settlement(message.key, FAILED, self._clock.now(), reason=failure.reason, error=failure.error)

    async def _flood(self, message: QueuedMessage, retry_after: float) -> None:
        """A 429: pause everything, slow down, and try this message again after the pause."""
        now = self._monotonic()
        self.pacer.flood(now, retry_after, slowdown=self.config.slowdown, min_factor=self.config.min_factor)
        self._tally.flood_wait(self.pacer.rate)
        log.warning(
            "Telegram asked to wait %.0f s (429); sending at %.1f/s afterwards", retry_after, self.pacer.rate
        )
        if retry_after < self.config.claim_lease.total_seconds() / 2:
            self._ready.push(message, now + retry_after)
            self._wake.set()
            return
        # A long ban: give every claim back rather than hold it past its lease.
        keys = [message.key, *(queued.key for queued in self._ready.take_all())]
        when = self._clock.now() + timedelta(seconds=retry_after)
        await self._outbox.release(self.owner, keys, when)

    async def _unreachable(self, message: QueuedMessage, failure: SendFailure) -> Settlement:
        """The recipient blocked the bot or is gone: remember it and drop what else waits for them."""
        now = self._clock.now()
        reason = failure.reason
        moment = self._monotonic()
        self._gone = {chat: gone for chat, gone in self._gone.items() if gone[1] > moment}
        self._gone[message.chat_id] = (reason, moment + GONE_FOR)
        await self._users.mark_unreachable(message.chat_id)
        dropped = await self._outbox.drop_pending_for(message.chat_id, reason, now)
        local = self._ready.take_chat(message.chat_id)
        if local:
            await self._outbox.settle(
                self.owner, [Settlement(m.key, DROPPED, now, reason=reason, attempted=False) for m in local]
            )
        self.stats.dropped += dropped + len(local)
        self._tally.failed(reason, 1 + dropped + len(local))
        return Settlement(message.key, FAILED, now, reason=reason, error=failure.error)
