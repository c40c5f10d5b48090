"""A one-off drain: everything due in the outbox sent from this process, then return."""

from __future__ import annotations

from bot.app.delivery.pacing import DeliveryConfig
from bot.app.delivery.sender import Sender
from bot.app.delivery.stats import SenderStats
from bot.app.delivery.transport import build_sender_bot
from bot.app.settings import Settings
from bot.clock import Clock
from storage.outbox import OutboxRepo
from storage.users import UserRepo


async def drain_outbox(
    settings: Settings,
    outbox: OutboxRepo,
    users: UserRepo,
    *,
    config: DeliveryConfig | None = None,
    clock: Clock | None = None,
) -> SenderStats:
    """Send everything due with a sender bot of its own, then return what was done.

    For one-off runs where no bot instance is sending (the crash test, the benchmark); a running
    bot only sends while it holds the lease. The caller opens the database.
    """
    config = config or DeliveryConfig.from_settings(settings)
    async with build_sender_bot(settings, connections=config.concurrency) as bot:
        sender = Sender(outbox, users, bot, config=config, clock=clock)
        await sender.run(until_idle=True)
        return sender.stats
