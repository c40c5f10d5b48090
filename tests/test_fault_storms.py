"""Faults around delivery: Telegram's 5xx and 429 storms, and the machine's clock stepping back or forward.

Whatever happens, every queued message reaches its chat once: nothing lost, nothing sent twice.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from telegram import Bot

from bot.app.delivery import build_sender_bot
from bot.app.settings import Settings
from bot.clock import ManualClock
from storage.database import Repos
from storage.outbox import SENT, Settlement
from tests.botapi import BotApiDouble
from tests.test_delivery import make_sender, text_message

MESSAGES = 120
CONCURRENCY = 4
ROUNDS = 12  # each round: send what is due, then five minutes pass (every backoff is shorter)


@pytest.fixture
async def sender_bot(settings: Settings) -> AsyncIterator[Bot]:
    bot = build_sender_bot(settings, connections=16)
    async with bot:
        yield bot


def delivered(botapi: BotApiDouble) -> Counter[str]:
    """How many times each text reached Telegram with a success."""
    return Counter(call.text or "" for call in botapi.calls_of("sendMessage") if call.ok)


async def until_all_sent(repos: Repos, sender_run: object, clock: ManualClock, keys: list[str]) -> None:
    for _ in range(ROUNDS):
        await sender_run()  # type: ignore[operator]
        if set((await repos.outbox.states(keys)).values()) == {"sent"}:
            return
        clock.advance(timedelta(minutes=5))
    raise AssertionError(
        f"not all sent after {ROUNDS} rounds: {Counter((await repos.outbox.states(keys)).values())}"
    )


async def test_a_storm_of_5xx_and_429_loses_nothing_and_sends_nothing_twice(
    repos: Repos, botapi: BotApiDouble, sender_bot: Bot, clock: ManualClock
) -> None:
    messages = [text_message(f"storm:{i}", 30_000 + i) for i in range(MESSAGES)]
    await repos.outbox.enqueue_many(messages, clock.now())
    # Faults are used up in the order given: bursts of server errors with two floods among them.
    for status, count in [(500, 15), (429, 1), (502, 20), (503, 10), (429, 1), (504, 15), (500, 25)]:
        botapi.fail("sendMessage", status=status, count=count, retry_after=1 if status == 429 else None)
    sender, metrics = make_sender(repos, sender_bot, clock, rate=100.0, max_attempts=10, backoff=1.0)

    await until_all_sent(repos, lambda: sender.run(until_idle=True), clock, [m.key for m in messages])

    statuses = Counter(call.status for call in botapi.calls_of("sendMessage"))
    assert statuses[429] == 2 and statuses[500] + statuses[502] + statuses[503] + statuses[504] == 85
    assert delivered(botapi) == Counter(m.text for m in messages), "each message exactly once"
    assert metrics.flood_waits._value.get() == 2


async def test_the_clock_stepping_back_delays_retries_but_loses_none(
    repos: Repos, botapi: BotApiDouble, sender_bot: Bot, clock: ManualClock
) -> None:
    messages = [text_message(f"back:{i}", 31_000 + i) for i in range(20)]
    await repos.outbox.enqueue_many(messages, clock.now())
    botapi.fail("sendMessage", status=500, count=5)
    sender, _ = make_sender(repos, sender_bot, clock, backoff=30.0)
    await sender.run(until_idle=True)
    assert len(delivered(botapi)) == 15

    clock.advance(timedelta(hours=-2))  # an NTP step back: the retries' due times lie far ahead now
    await sender.run(until_idle=True)
    assert len(delivered(botapi)) == 15, "not due yet by the clock"
    # New messages queued meanwhile go out at once, at the stepped-back time.
    await repos.outbox.enqueue(text_message("back:new", 31_999), clock.now())
    await sender.run(until_idle=True)
    assert delivered(botapi)["message back:new"] == 1

    clock.advance(timedelta(hours=2))  # the clock is back where it was: the retries are due
    await until_all_sent(repos, lambda: sender.run(until_idle=True), clock, [m.key for m in messages])
    assert delivered(botapi) == Counter([m.text for m in messages] + ["message back:new"])


async def test_a_send_settled_after_its_lease_ran_out_is_not_sent_again(
    repos: Repos, clock: ManualClock
) -> None:
    """The clock steps past a live sender's lease between its send and the record of it."""
    await repos.outbox.enqueue(text_message("late", 33_000), clock.now())
    [claimed] = await repos.outbox.claim("sender-a", clock.now(), limit=1, lease=timedelta(minutes=5))
    clock.advance(timedelta(hours=1))
    assert await repos.outbox.requeue_expired(clock.now()) == 1  # another sender's expiry sweep
    [reclaimed] = await repos.outbox.claim("sender-b", clock.now(), limit=1, lease=timedelta(minutes=5))
    assert reclaimed.key == claimed.key
    sent = Settlement(key="late", state=SENT, at=clock.now(), message_id=1)
    assert await repos.outbox.settle("sender-a", [sent]) == 1  # sender A's send had gone through
    assert await repos.outbox.held("sender-b", ["late"]) == set(), "B finds its claim gone and skips it"
    message = await repos.outbox.get("late")
    assert message is not None and message["state"] == SENT


async def test_a_forgotten_person_s_message_stays_cancelled_when_a_late_send_is_settled(
    repos: Repos, clock: ManualClock
) -> None:
    await repos.outbox.enqueue(text_message("gone", 33_001), clock.now())
    await repos.outbox.claim("sender-a", clock.now(), limit=1, lease=timedelta(minutes=5))
    await repos.outbox.cancel_for(33_001, clock.now())
    sent = Settlement(key="gone", state=SENT, at=clock.now(), message_id=1)
    assert await repos.outbox.settle("sender-a", [sent]) == 0
    message = await repos.outbox.get("gone")
    assert message is not None and message["state"] == "dropped"


async def test_the_clock_stepping_forward_under_a_live_sender_loses_nothing(
    repos: Repos, botapi: BotApiDouble, sender_bot: Bot, clock: ManualClock
) -> None:
    """A step forward past the claim lease makes a live sender's claims look abandoned to another one.

    Only messages on the wire at the moment of the step can go out twice (a send and the other
    sender's check cross); every other one goes once.
    """
    messages = [text_message(f"fwd:{i}", 32_000 + i) for i in range(60)]
    await repos.outbox.enqueue_many(messages, clock.now())
    first, _ = make_sender(repos, sender_bot, clock, rate=20.0, concurrency=CONCURRENCY)
    second, _ = make_sender(repos, sender_bot, clock, rate=20.0, concurrency=CONCURRENCY)
    running = asyncio.create_task(first.run(until_idle=True))
    try:
        await botapi.wait_for("sendMessage", count=5, timeout=30)
        clock.advance(timedelta(hours=1))  # every lease of the first sender has expired by the clock
        await second.run(until_idle=True)
        await running
    finally:
        running.cancel()
    keys = [m.key for m in messages]
    await until_all_sent(repos, lambda: first.run(until_idle=True), clock, keys)
    counts = delivered(botapi)
    assert set(counts) == {m.text for m in messages}, "nothing lost"
    twice = {text: n for text, n in counts.items() if n > 1}
    assert sum(n - 1 for n in twice.values()) <= CONCURRENCY, f"more repeats than sends on the wire: {twice}"
