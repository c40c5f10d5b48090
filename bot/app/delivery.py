"""The delivery engine: drains the outbox into Telegram, paced, and safe to kill at any moment.

Pacing: at most `rate` messages in any one-second window overall and one a second per chat.
A small margin of the rate is kept free so that jitter between this process and Telegram
cannot make any second look fuller than allowed. A 429 stops all sending for its
`retry_after` and halves the rate, which creeps back while Telegram stays quiet.

Crash safety: a message is claimed (`sending`) before it is sent and settled (`sent`) right
after Telegram accepted it, and a send slot stays taken until that settlement is stored.
A process killed at any moment leaves its claims in `sending`; the next sender puts them
back. So nothing is lost, and the only messages that can go out twice are those on the
wire at the kill: at most `concurrency`.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import math
import os
import random
import socket
import time
import uuid
import warnings
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from telegram import Bot, InlineKeyboardMarkup, Message
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.warnings import PTBDeprecationWarning

from bot.app.metrics import Metrics
from bot.app.settings import Settings
from bot.app.telegram_http import AiohttpRequest
from bot.clock import Clock, SystemClock
from storage.outbox import DROPPED, FAILED, PENDING, SENT, OutboxRepo, QueuedMessage, Settlement
from storage.users import UserRepo

log = logging.getLogger(__name__)

FREE_RATE_LIMIT = 30.0  # Telegram's overall limit for a bot without paid broadcasts
PAID_RATE_LIMIT = 1000.0  # with allow_paid_broadcast


@dataclass(frozen=True)
class DeliveryConfig:
    """How fast and how stubbornly the sender works."""

    rate: float = 25.0  # messages per second, overall
    paid_broadcast: bool = False
    chat_interval: float = 1.0  # seconds between two messages to one chat
    margin: float = 0.05  # share of the rate kept free against network jitter
    concurrency: int = 16  # sends on the wire at once (also the most a crash can repeat)
    claim_lease: timedelta = timedelta(minutes=5)
    max_attempts: int = 5
    backoff: float = 2.0  # seconds before the first retry; doubles each time
    backoff_cap: float = 600.0
    poll_interval: float = 1.0  # how often an idle sender looks for new messages
    settle_batch: int = 200
    settle_delay: float = 0.02  # settlements are written together within this delay
    slowdown: float = 0.5  # rate factor applied at each 429
    min_factor: float = 0.1
    recovery_step: float = 0.1  # factor regained after each quiet `recovery_interval`
    recovery_interval: float = 30.0
    defer_horizon: float = 5.0  # messages for a busy chat due later than this go back to the outbox
    shutdown_grace: float = 10.0

    @property
    def batch_size(self) -> int:
        """Messages claimed at once: about four seconds of sending."""
        return max(50, min(1000, math.ceil(self.rate * 4)))

    @property
    def low_water(self) -> int:
        """Claim more while fewer than this wait locally (a claim can take a while on a busy database)."""
        return self.batch_size * 3 // 4

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> DeliveryConfig:
        """The configured rate, capped at Telegram's limit for the broadcast mode."""
        limit = PAID_RATE_LIMIT if settings.paid_broadcast else FREE_RATE_LIMIT
        rate = min(settings.send_rate, limit)
        if rate < settings.send_rate:
            log.warning(
                "QUETMA_SEND_RATE=%s is above Telegram's limit of %s/s without paid broadcasts; "
                "sending at %s/s (set QUETMA_PAID_BROADCAST=1 to go faster)",
                settings.send_rate,
                limit,
                rate,
            )
        # Enough sends in flight for ~250 ms of Telegram latency at full rate.
        concurrency = max(8, min(250, math.ceil(rate / 4)))
        values: dict[str, Any] = {
            "rate": rate,
            "paid_broadcast": settings.paid_broadcast,
            "concurrency": concurrency,
        }
        return cls(**(values | overrides))


class Pacer:
    """When the next message may go: overall spacing, a hard cap per window, one per chat.

    Pure arithmetic on monotonic seconds, so it is tested without waiting.
    """

    def __init__(
        self,
        rate: float,
        *,
        chat_interval: float = 1.0,
        margin: float = 0.05,
        recovery_step: float = 0.1,
        recovery_interval: float = 30.0,
    ) -> None:
        if rate <= 0 or not 0 <= margin < 1:
            raise ValueError("rate must be positive and margin in [0, 1)")
        self._rate = rate
        self._recovery_step = recovery_step
        self._recovery_interval = recovery_interval
        self._stretch = 1 / (1 - margin)
        self._chat_gap = chat_interval * self._stretch
        self._window = self._stretch  # the cap holds over a window a little longer than a second
        self.factor = 1.0
        self._factor_changed = -math.inf
        self._next = -math.inf  # theoretical time of the next grant
        self._recent: deque[float] = deque()
        self._chats: dict[int, float] = {}
        self._paused_until = -math.inf
        self._grants = 0

    @property
    def rate(self) -> float:
        """Messages per second allowed now (after any slow-down)."""
        return self._rate * self.factor

    @property
    def interval(self) -> float:
        return self._stretch / self.rate

    @property
    def cap(self) -> int:
        """Most grants in any window."""
        return max(1, math.floor(self.rate))

    @property
    def paused_until(self) -> float:
        return self._paused_until

    def chat_ready_at(self, chat_id: int) -> float:
        last = self._chats.get(chat_id)
        return -math.inf if last is None else last + self._chat_gap

    @property
    def chat_gap(self) -> float:
        return self._chat_gap

    def ready_at(self, chat_id: int, now: float) -> float:
        """The earliest moment a message to `chat_id` may be sent."""
        while self._recent and self._recent[0] <= now - self._window:
            self._recent.popleft()
        at = max(self._next, self._paused_until, self.chat_ready_at(chat_id))
        cap = self.cap
        if len(self._recent) >= cap:
            at = max(at, self._recent[-cap] + self._window)
        return at

    def grant(self, chat_id: int, now: float) -> None:
        """Record a send at `now` (the caller checked `ready_at`)."""
        interval = self.interval
        # Oversleeping up to half an interval is made up; an idle sender does not save up a burst.
        self._next = max(self._next, now - interval / 2) + interval
        self._recent.append(now)
        self._chats[chat_id] = now
        if self.factor < 1 and now - self._factor_changed >= self._recovery_interval:
            self.factor = min(1.0, self.factor + self._recovery_step)
            self._factor_changed = now
        self._grants += 1
        if self._grants % 1024 == 0:
            horizon = now - self._chat_gap
            self._chats = {chat: at for chat, at in self._chats.items() if at > horizon}

    def flood(self, now: float, retry_after: float, *, slowdown: float, min_factor: float) -> None:
        """Telegram answered 429: send nothing for `retry_after`, then slower."""
        self._paused_until = max(self._paused_until, now + retry_after)
        self.factor = max(min_factor, self.factor * slowdown)
        self._factor_changed = now + retry_after
        self._next = max(self._next, self._paused_until)


def retry_after_seconds(exc: RetryAfter) -> float:
    """The wait Telegram asked for, in seconds (PTB is moving this attribute from int to timedelta)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def forbidden_reason(exc: TelegramError) -> str:
    """A short reason for a recipient that cannot be reached."""
    text = exc.message.lower()
    if "deactivated" in text:
        return "deactivated"
    if "chat not found" in text:
        return "chat-not-found"
    if "blocked" in text:
        return "blocked"
    return "forbidden"


def network_reason(exc: NetworkError) -> str:
    """Timeouts, Telegram's own 5xx answers (no underlying cause) and connection failures."""
    if isinstance(exc, TimedOut):
        return "timeout"
    return "network" if exc.__cause__ is not None else "server-error"


def build_sender_bot(settings: Settings, *, connections: int = 100) -> Bot:
    """A Bot of its own for the sender, so broadcasts never take the connections replies need."""
    assert settings.bot_token is not None  # noqa: S101 - checked by the CLI
    api = settings.telegram_api_url
    return Bot(
        settings.bot_token.get_secret_value(),
        base_url=f"{api}/bot",
        base_file_url=f"{api}/file/bot",
        request=AiohttpRequest(connection_pool_size=connections),
        get_updates_request=AiohttpRequest(connection_pool_size=1),
    )


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


@dataclass
class SenderStats:
    """What one sender did since it started."""

    claimed: int = 0
    sent: int = 0
    failed: int = 0
    dropped: int = 0
    retried: int = 0
    flood_waits: int = 0
    recovered: int = 0


@dataclass(order=True)
class _Queued:
    ready_at: float
    seq: int
    message: QueuedMessage = field(compare=False)


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
        self.stats = SenderStats()
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
        self._metrics = metrics
        self._monotonic = monotonic
        self._ready: list[_Queued] = []
        self._reserved: dict[int, float] = {}
        self._seq = 0
        self._slots = asyncio.Semaphore(config.concurrency)
        self._in_flight: set[asyncio.Task[None]] = set()
        self._claim_task: asyncio.Task[int] | None = None
        self._next_claim = -math.inf
        self._next_expiry_sweep = -math.inf
        self._wake = asyncio.Event()
        self._stopping = False
        self._running = False
        self._writer = SettlementWriter(
            outbox, self.owner, batch=config.settle_batch, delay=config.settle_delay
        )

    # -- control ----------------------------------------------------------------------------------

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
        if self._metrics is not None:
            self._metrics.send_rate.set(self.pacer.rate)
        try:
            while not self._stopping:
                self._maybe_claim()
                if not self._ready:
                    if self._claim_task is not None:
                        await asyncio.wait([self._claim_task])
                        continue
                    if until_idle and await self._idle():
                        break
                    resume = max(self._next_claim, self.pacer.paused_until)
                    await self._nap(max(0.01, resume - self._monotonic()))
                    continue
                await self._dispatch_head()
        finally:
            await self._wind_down(writer)
            self._running = False

    # -- the loop ---------------------------------------------------------------------------------

    def _maybe_claim(self) -> None:
        now = self._monotonic()
        if (
            self._claim_task is not None
            or len(self._ready) >= self.config.low_water
            or now < self._next_claim
            or now < self.pacer.paused_until
        ):
            return
        self._claim_task = asyncio.create_task(self._claim(), name="outbox-claim")

    async def _claim(self) -> int:
        """Claim a batch into the local queue; how many were claimed."""
        try:
            return await self._claim_batch()
        except Exception:
            log.warning("claiming from the outbox failed; trying again shortly", exc_info=True)
            self._next_claim = self._monotonic() + self.config.poll_interval
            return 0
        finally:
            self._claim_task = None

    async def _claim_batch(self) -> int:
        moment = self._clock.now()
        if self._monotonic() >= self._next_expiry_sweep:
            self._next_expiry_sweep = self._monotonic() + 60
            self.stats.recovered += await self._outbox.requeue_expired(moment)
        claimed = await self._outbox.claim(
            self.owner, moment, limit=self.config.batch_size, lease=self.config.claim_lease
        )
        self.stats.claimed += len(claimed)
        if not claimed:
            self._next_claim = self._monotonic() + self.config.poll_interval
            return 0
        now = self._monotonic()
        horizon = now - self.pacer.chat_gap
        self._reserved = {chat: at for chat, at in self._reserved.items() if at > horizon}
        later: list[QueuedMessage] = []
        for message in claimed:
            at = self._reserve(message.chat_id, now)
            if at - now > self.config.defer_horizon:
                later.append(message)
                self._reserved[message.chat_id] -= self.pacer.chat_gap
                continue
            self._push(message, at)
        if later:
            # One chat has more than a few messages waiting: the rest go back for later claims.
            when = moment + timedelta(seconds=self.config.defer_horizon)
            await self._outbox.release(self.owner, [m.key for m in later], when)
        self._wake.set()
        return len(claimed)

    def _reserve(self, chat_id: int, now: float) -> float:
        """The local slot of the next message to a chat (one chat_interval after the previous)."""
        previous = self._reserved.get(chat_id, -math.inf)
        at = max(now, self.pacer.chat_ready_at(chat_id), previous + self.pacer.chat_gap)
        self._reserved[chat_id] = at
        return at

    def _push(self, message: QueuedMessage, at: float) -> None:
        self._seq += 1
        heapq.heappush(self._ready, _Queued(at, self._seq, message))

    async def _dispatch_head(self) -> None:
        head = self._ready[0]
        now = self._monotonic()
        at = max(head.ready_at, self.pacer.ready_at(head.message.chat_id, now))
        if at > now:
            await self._nap(at - now)
            return
        await self._slots.acquire()
        now = self._monotonic()
        if not self._ready or self._ready[0] is not head or self._stopping:
            self._slots.release()
            return
        if self.pacer.ready_at(head.message.chat_id, now) > now:
            self._slots.release()  # a 429 arrived while waiting for a slot
            return
        heapq.heappop(self._ready)
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
        if self._ready or await self._claim() > 0:
            return False
        recovered = await self._outbox.recover(self.owner, self._clock.now())
        self.stats.recovered += recovered
        return recovered == 0

    async def _wind_down(self, writer: asyncio.Task[None]) -> None:
        self._stopping = True
        if self._claim_task is not None:
            # Let a claim finish, so what it took is in the local queue and released below.
            await asyncio.wait([self._claim_task], timeout=self.config.shutdown_grace)
        if self._in_flight:
            _, late = await asyncio.wait(set(self._in_flight), timeout=self.config.shutdown_grace)
            for task in late:  # still on the wire: their claims stay and are recovered by the next sender
                task.cancel()
        try:
            await self._writer.close()
            untried = [queued.message.key for queued in self._ready]
            self._ready.clear()
            self._reserved.clear()
            await self._outbox.release(self.owner, untried, self._clock.now())
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer

    # -- one message ------------------------------------------------------------------------------

    async def _deliver(self, message: QueuedMessage) -> None:
        try:
            settlement = await self._attempt(message)
            if settlement is not None:
                await self._writer.write(settlement)
        except Exception:
            log.exception("settling message %s failed; it stays claimed until recovered", message.key)
        finally:
            self._slots.release()

    async def _attempt(self, message: QueuedMessage) -> Settlement | None:
        try:
            sent = await self._send(message)
        except RetryAfter as exc:
            await self._flood(message, retry_after_seconds(exc))
            return None
        except Forbidden as exc:
            return await self._unreachable(message, forbidden_reason(exc), exc)
        except BadRequest as exc:
            if "chat not found" in exc.message.lower():
                return await self._unreachable(message, "chat-not-found", exc)
            return self._failed(message, "bad-request", exc)
        except ChatMigrated as exc:
            return self._failed(message, "chat-migrated", exc)
        except NetworkError as exc:
            return self._retry_or_fail(message, network_reason(exc), exc)
        except InvalidToken as exc:
            log.error("Telegram refused the bot token while sending; check BOT_TOKEN")
            return self._retry_or_fail(message, "invalid-token", exc)
        except TelegramError as exc:
            return self._retry_or_fail(message, "telegram-error", exc)
        except Exception as exc:
            log.exception("unexpected error sending %s", message.key)
            return self._retry_or_fail(message, "error", exc)
        self.stats.sent += 1
        if self._metrics is not None:
            self._metrics.sent.labels(message.kind).inc()
        return Settlement(message.key, SENT, self._clock.now(), message_id=sent.message_id)

    async def _send(self, message: QueuedMessage) -> Message:
        markup = (
            InlineKeyboardMarkup.de_json(message.reply_markup, self._bot) if message.reply_markup else None
        )
        paid = True if self.config.paid_broadcast else None
        parse_mode = message.meta.get("parse_mode")
        if message.photo is not None:
            return await self._bot.send_photo(
                message.chat_id,
                photo=message.photo,
                caption=message.text or None,
                parse_mode=parse_mode,
                reply_markup=markup,
                filename=message.filename,
                allow_paid_broadcast=paid,
            )
        if message.document is not None:
            return await self._bot.send_document(
                message.chat_id,
                document=message.document,
                filename=message.filename or "document",
                caption=message.text or None,
                parse_mode=parse_mode,
                reply_markup=markup,
                allow_paid_broadcast=paid,
            )
        return await self._bot.send_message(
            message.chat_id,
            message.text,
            parse_mode=parse_mode,
            reply_markup=markup,
            allow_paid_broadcast=paid,
        )

    async def _flood(self, message: QueuedMessage, retry_after: float) -> None:
        """A 429: pause everything, slow down, and try this message again after the pause."""
        now = self._monotonic()
        self.pacer.flood(now, retry_after, slowdown=self.config.slowdown, min_factor=self.config.min_factor)
        self.stats.flood_waits += 1
        if self._metrics is not None:
            self._metrics.flood_waits.inc()
            self._metrics.send_rate.set(self.pacer.rate)
        log.warning(
            "Telegram asked to wait %.0f s (429); sending at %.1f/s afterwards", retry_after, self.pacer.rate
        )
        if retry_after < self.config.claim_lease.total_seconds() / 2:
            self._push(message, now + retry_after)
            self._wake.set()
            return
        # A long ban: give every claim back rather than hold it past its lease.
        keys = [message.key, *(queued.message.key for queued in self._ready)]
        self._ready.clear()
        self._reserved.clear()
        when = self._clock.now() + timedelta(seconds=retry_after)
        await self._outbox.release(self.owner, keys, when)

    async def _unreachable(self, message: QueuedMessage, reason: str, exc: TelegramError) -> Settlement:
        """The recipient blocked the bot or is gone: remember it and drop what else waits for them."""
        now = self._clock.now()
        await self._users.mark_unreachable(message.chat_id)
        dropped = await self._outbox.drop_pending_for(message.chat_id, reason, now)
        local = [queued for queued in self._ready if queued.message.chat_id == message.chat_id]
        if local:
            self._ready = [queued for queued in self._ready if queued.message.chat_id != message.chat_id]
            heapq.heapify(self._ready)
            await self._outbox.settle(
                self.owner,
                [Settlement(q.message.key, DROPPED, now, reason=reason, attempted=False) for q in local],
            )
        self.stats.failed += 1
        self.stats.dropped += dropped + len(local)
        if self._metrics is not None:
            self._metrics.failed.labels(reason).inc(1 + dropped + len(local))
        return Settlement(message.key, FAILED, now, reason=reason, error=exc.message)

    def _failed(self, message: QueuedMessage, reason: str, exc: BaseException) -> Settlement:
        self.stats.failed += 1
        if self._metrics is not None:
            self._metrics.failed.labels(reason).inc()
        log.warning("message %s failed for good: %s", message.key, reason)
        return Settlement(message.key, FAILED, self._clock.now(), reason=reason, error=str(exc))

    def _retry_or_fail(self, message: QueuedMessage, reason: str, exc: BaseException) -> Settlement:
        attempts = message.attempts + 1
        if attempts >= self.config.max_attempts:
            return self._failed(message, reason, exc)
        self.stats.retried += 1
        if self._metrics is not None:
            self._metrics.retried.labels(reason).inc()
        delay = min(self.config.backoff_cap, self.config.backoff * 2 ** (attempts - 1))
        delay *= random.uniform(0.8, 1.2)  # spread the retries of a failed burst
        now = self._clock.now()
        return Settlement(
            message.key,
            PENDING,
            now,
            reason=reason,
            error=str(exc),
            not_before=now + timedelta(seconds=delay),
        )


async def drain_outbox(
    settings: Settings, *, config: DeliveryConfig | None = None, clock: Clock | None = None
) -> SenderStats:
    """Send everything due from this process, then return.

    For one-off runs where no bot instance is sending (the crash test, the benchmark);
    a running bot only sends while it holds the lease.
    """
    from bot.app.runtime import open_repos

    config = config or DeliveryConfig.from_settings(settings)
    bot = build_sender_bot(settings, connections=config.concurrency)
    async with open_repos(settings) as repos, bot:
        sender = Sender(repos.outbox, repos.users, bot, config=config, clock=clock)
        await sender.run(until_idle=True)
        return sender.stats


__all__ = [
    "DROPPED",
    "FAILED",
    "DeliveryConfig",
    "Pacer",
    "Sender",
    "build_sender_bot",
    "drain_outbox",
]
