"""Prometheus metrics of one process, in a registry the application owns (nothing module-global)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from bot.app.updates import update_kind
from bot.checkins import Arrival

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """Every metric QuetMa exports; `/metrics` renders `registry`."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.updates = Counter(
            "quetma_updates", "Telegram updates accepted, by type", ["type"], registry=registry
        )
        self.duplicate_updates = Counter(
            "quetma_duplicate_updates", "Updates delivered again and ignored", registry=registry
        )
        self.checkins = Counter(
            "quetma_checkins", "Check-ins recorded (re-scans excluded)", registry=registry
        )
        self.handler_latency = Histogram(
            "quetma_handler_latency_seconds",
            "Time from accepting an update to the end of its handling",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.outbox_depth = Gauge(
            "quetma_outbox_depth", "Messages waiting in the outbox, by state", ["state"], registry=registry
        )
        self.sent = Counter(
            "quetma_messages_sent", "Messages delivered, by kind", ["kind"], registry=registry
        )
        self.failed = Counter(
            "quetma_messages_failed",
            "Messages that were not delivered (failed or dropped), by reason",
            ["reason"],
            registry=registry,
        )
        self.retried = Counter(
            "quetma_messages_retried", "Send attempts to be retried, by reason", ["reason"], registry=registry
        )
        self.flood_waits = Counter(
            "quetma_telegram_429", "429 Too Many Requests answers received from Telegram", registry=registry
        )
        self.send_rate = Gauge(
            "quetma_send_rate", "Messages per second the sender currently allows", registry=registry
        )
        self.leader = Gauge(
            "quetma_leader",
            "1 while this instance holds the lease (runs jobs and the sender)",
            registry=registry,
        )
        self.job_runs = Counter(
            "quetma_job_runs", "Scheduled job runs, by job and outcome", ["job", "outcome"], registry=registry
        )
        self.auto_checkouts = Counter(
            "quetma_auto_checkouts", "Visits closed by the automatic check-out sweep", registry=registry
        )
        self.inactive_venues = Gauge(
            "quetma_inactive_venues",
            "Venues without a check-in in the 3 days ending the last counted day, by region",
            ["region"],
            registry=registry,
        )

        self.embedded_up = Gauge(
            "quetma_embedded_database_up",
            "1 while the embedded SecantusDB server runs; 0 while it is restarted, or with MONGODB_URI",
            registry=registry,
        )
        self.embedded_restarts = Counter(
            "quetma_embedded_database_restarts",
            "Times the embedded SecantusDB server was started again after it died",
            registry=registry,
        )

    def render(self) -> tuple[bytes, str]:
        """The text exposition and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def update_started(self, update: object) -> None:
        """Count an update by its kind as its handling begins."""
        self.updates.labels(update_kind(update)).inc()

    def update_finished(self, seconds: float) -> None:
        self.handler_latency.observe(seconds)

    def database_up(self, up: bool) -> None:
        """The embedded server went up or down (a SupervisionObserver)."""
        self.embedded_up.set(1 if up else 0)

    def database_restarted(self) -> None:
        """The embedded server was started again after it died (a SupervisionObserver)."""
        self.embedded_restarts.inc()

    async def count_checkin(self, arrival: Arrival) -> None:
        """A check-in effect (bot.checkins): counts new visits, not companions added with +1."""
        if not arrival.added_person:
            self.checkins.inc()
