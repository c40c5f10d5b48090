"""How fast the sender may go: its configuration and the pacer that spaces messages.

At most `rate` messages in any one-second window overall and one a second per chat. A small
margin of the rate is kept free so that jitter between this process and Telegram cannot make
any second look fuller than allowed. A 429 stops all sending for its `retry_after` and halves
the rate, which creeps back while Telegram stays quiet.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot.app.settings import Settings

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
