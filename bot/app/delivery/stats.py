"""What a sender did: its own counters, mirrored into the process's Prometheus metrics when it has them."""

from __future__ import annotations

from dataclasses import dataclass

from bot.app.metrics import Metrics


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


class Tally:
    """Counts each outcome once, in `stats` and in the metrics."""

    def __init__(self, metrics: Metrics | None) -> None:
        self.stats = SenderStats()
        self._metrics = metrics

    def sent(self, kind: str) -> None:
        self.stats.sent += 1
        if self._metrics is not None:
            self._metrics.sent.labels(kind).inc()

    def failed(self, reason: str, messages: int = 1) -> None:
        """One failed send; `messages` counts the others to the same recipient dropped with it."""
        self.stats.failed += 1
        if self._metrics is not None:
            self._metrics.failed.labels(reason).inc(messages)

    def retried(self, reason: str) -> None:
        self.stats.retried += 1
        if self._metrics is not None:
            self._metrics.retried.labels(reason).inc()

    def flood_wait(self, rate: float) -> None:
        self.stats.flood_waits += 1
        if self._metrics is not None:
            self._metrics.flood_waits.inc()
        self.rate(rate)

    def rate(self, rate: float) -> None:
        if self._metrics is not None:
            self._metrics.send_rate.set(rate)
