"""A forgotten person gets nothing more: messages already claimed by the sender are cancelled too."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from telegram import Bot

from bot.app.delivery import DeliveryConfig, Sender, build_sender_bot
from bot.app.settings import Settings
from bot.clock import ManualClock
from storage.database import Repos
from storage.outbox import OutboundMessage
from tests.botapi import BotApiDouble

PEOPLE = [9100 + n for n in range(5)]


@pytest.fixture
async def sender_bot(settings: Settings) -> AsyncIterator[Bot]:
    bot = build_sender_bot(settings, connections=4)
    async with bot:
        yield bot


async def test_forgetting_cancels_alerts_the_sender_already_claimed(
    repos: Repos, sender_bot: Bot, botapi: BotApiDouble, clock: ManualClock
) -> None:
    alerts = [
        OutboundMessage(
            key=f"exposure:e1:{person}", kind="exposure", chat_id=person, text="Bún chả 19/11 12:00"
        )
        for person in PEOPLE
    ]
    assert await repos.outbox.enqueue_many(alerts, clock.now()) == len(PEOPLE)
    # One every two seconds: the sender claims all five at once and holds four while the first goes
    # (slow enough that a loaded machine still cancels before the next one's turn).
    sender = Sender(
        repos.outbox,
        repos.users,
        sender_bot,
        config=DeliveryConfig(rate=0.5, poll_interval=0.05),
        clock=clock,
    )
    run = asyncio.create_task(sender.run(until_idle=True))
    first = (await botapi.wait_for("sendMessage", timeout=10))[0]
    waiting = [person for person in PEOPLE if person != first.chat_id]
    while (await repos.outbox.states([f"exposure:e1:{first.chat_id}"])).get(
        f"exposure:e1:{first.chat_id}"
    ) != "sent":
        await asyncio.sleep(0.01)  # its settlement is written a moment after Telegram's answer
    states = await repos.outbox.states([f"exposure:e1:{person}" for person in waiting])
    assert set(states.values()) == {"sending"}, "claimed, waiting for their turn in the sender"

    for person in PEOPLE:  # everyone uses /forget
        await repos.outbox.cancel_for(person, clock.now())
    await asyncio.wait_for(run, timeout=30)

    assert [call.chat_id for call in botapi.calls_of("sendMessage")] == [first.chat_id]
    assert sender.stats.sent == 1 and sender.stats.dropped == len(waiting)
    for person in waiting:
        doc = await repos.outbox.get(f"exposure:e1:{person}")
        assert doc is not None and doc["state"] == "dropped" and doc["reason"] == "forgotten"
        assert doc["text"] == "" and doc["expires_at"] > clock.now()
    sent = await repos.outbox.get(f"exposure:e1:{first.chat_id}")
    assert sent is not None and sent["state"] == "sent" and sent["text"] == "", (
        "no text kept for a forgotten person"
    )


async def test_cancelling_leaves_other_people_s_messages_alone(repos: Repos, clock: ManualClock) -> None:
    mine = OutboundMessage(key="report:a", kind="official-report", chat_id=1, text="mine", photo=b"png")
    theirs = OutboundMessage(key="report:b", kind="official-report", chat_id=2, text="theirs")
    await repos.outbox.enqueue_many([mine, theirs], clock.now())
    assert await repos.outbox.cancel_for(1, clock.now()) == 1
    gone, kept = await repos.outbox.get("report:a"), await repos.outbox.get("report:b")
    assert gone is not None and gone["state"] == "dropped" and gone["text"] == "" and "photo" not in gone
    assert kept is not None and kept["state"] == "pending" and kept["text"] == "theirs"
    assert await repos.outbox.cancel_for(1, clock.now()) == 0
