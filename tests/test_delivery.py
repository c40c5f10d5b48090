"""The delivery engine: pacing, 429 back-off, 403 handling, retries, the unique key, media and priority."""

from __future__ import annotations

import asyncio
import bisect
import itertools
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup

from bot.app.delivery import DeliveryConfig, Pacer, Sender, build_sender_bot
from bot.app.metrics import Metrics
from bot.app.settings import Settings
from bot.clock import ManualClock
from storage.database import Repos
from storage.outbox import OutboundMessage
from tests.botapi import ApiCall, BotApiDouble

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7V\xbd\xfa\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture(autouse=True)
def timedelta_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    # PTB warns when building RetryAfter with int seconds; warnings are errors in this suite.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
async def sender_bot(settings: Settings) -> AsyncIterator[Bot]:
    bot = build_sender_bot(settings, connections=16)
    async with bot:
        yield bot


def make_sender(repos: Repos, bot: Bot, clock: ManualClock, **config: object) -> tuple[Sender, Metrics]:
    metrics = Metrics()
    values: dict[str, object] = {"rate": 200.0, "concurrency": 8, "poll_interval": 0.05, "backoff": 5.0}
    sender = Sender(
        repos.outbox,
        repos.users,
        bot,
        config=DeliveryConfig(**(values | config)),  # type: ignore[arg-type]
        clock=clock,
        metrics=metrics,
    )
    return sender, metrics


def text_message(
    key: str, chat_id: int, text: str | None = None, kind: str = "owner-summary"
) -> OutboundMessage:
    return OutboundMessage(key=key, kind=kind, chat_id=chat_id, text=text or f"message {key}")


def most_in_any_window(calls: list[ApiCall], seconds: float = 1.0) -> int:
    moments = sorted(call.at for call in calls)
    return max(bisect.bisect_left(moments, at + seconds) - i for i, at in enumerate(moments))


async def test_a_broadcast_never_exceeds_the_rate_in_any_second_nor_one_a_second_per_chat(
    repos: Repos, botapi: BotApiDouble, sender_bot: Bot, clock: ManualClock
) -> None:
    # 146 owners get one summary each; one busy owner has four venues, so four summaries.
    messages = [text_message(f"s:{i}", 5000 + i) for i in range(146)]
    messages += [text_message(f"s:busy:{i}", 4242) for i in range(4)]
    assert await repos.outbox.enqueue_many(messages, clock.now()) == 150
    sender, metrics = make_sender(repos, sender_bot, clock, rate=50.0)

    await sender.run(until_idle=True)

    sent = botapi.calls_of("sendMessage")
    assert sorted(call.text or "" for call in sent) == sorted(m.text for m in messages)
    assert most_in_any_window(sent) <= 50
    busy = [call.at for call in sent if call.chat_id == 4242]
    assert len(busy) == 4
    assert all(later - earlier >= 1.0 for earlier, later in itertools.pairwise(busy))
    assert (await repos.outbox.status(clock.now())).by_state["sent"] == 150
    assert metrics.sent.labels("owner-summary")._value.get() == 150


def test_the_pacer_keeps_every_window_under_the_cap_and_each_chat_a_second_apart() -> None:
    pacer = Pacer(40.0, margin=0.05)
    now, grants = 0.0, []
    for chat in range(400):
        now = max(now, pacer.ready_at(chat, now))
        pacer.grant(chat, now)
        grants.append(now)
    assert max(bisect.bisect_left(grants, at + 1.0) - i for i, at in enumerate(grants)) <= 40
    assert 399 / (grants[-1] - grants[0]) >= 0.9 * 40  # and it keeps close to the limit

    busy = []
    for _ in range(5):  # one chat asking far more often than once a second
        now = max(now, pacer.ready_at(7, now))
        pacer.grant(7, now)
        busy.append(now)
    assert all(later - earlier >= 1.0 for earlier, later in itertools.pairwise(busy))

    pacer.flood(now, 3.0, slowdown=0.5, min_factor=0.1)
    assert pacer.ready_at(999, now) >= now + 3.0
    assert pacer.rate == 20.0


async def test_a_429_pauses_all_sending_for_retry_after_and_slows_down(
    repos: Repos, botapi: BotApiDouble, sender_bot: Bot, clock: ManualClock
) -> None:
    await repos.outbox.enqueue_many([text_message(f"m:{i}", 100 + i) for i in range(3)], clock.now())
    botapi.fail("sendMessage", status=429, retry_after=1)
    sender, metrics = make_sender(repos, sender_bot, clock, rate=10.0)

    await sender.run(until_idle=True)

    calls = botapi.calls_of("sendMessage")
    assert [call.status for call in calls] == [429, 200, 200, 200]
    assert calls[1].at - calls[0].at >= 1.0
    assert sender.pacer.factor == 0.5
    assert metrics.flood_waits._value.get() == 1
    keys = [f"m:{i}" for i in range(3)]
    assert set((await repos.outbox.states(keys)).values()) == {"sent"}
    first = await repos.outbox.get("m:0")
    assert first is not None and first["attempts"] == 1  # the try refused with 429 does not count


async def test_a_403_marks_the_recipient_unreachable_and_drops_their_other_messages(
    repos: Repos, botapi: BotApiDouble, sender_bot: Bot, clock: ManualClock
) -> None:
    await repos.users.touch(
        7007,
        display_name="Chủ quán",
        telegram_language="vi",
        now=clock.now(),
        expires_at=clock.now() + timedelta(days=21),
    )
    await repos.outbox.enqueue_many(
        [text_message(f"blocked:{i}", 7007) for i in range(3)] + [text_message("fine", 8008)], clock.now()
    )
    botapi.block(7007)
    sender, metrics = make_sender(repos, sender_bot, clock)

    await sender.run(until_idle=True)

    assert len([c for c in botapi.calls_of("sendMessage") if c.chat_id == 7007]) == 1
    assert botapi.sent_texts(8008) == ["message fine"]
    profile = await repos.users.get(7007)
    assert profile is not None and profile.unreachable
    states = await repos.outbox.states(["blocked:0", "blocked:1", "blocked:2", "fine"])
    assert states == {"blocked:0": "failed", "blocked:1": "dropped", "blocked:2": "dropped", "fine": "sent"}
    status = await repos.outbox.status(clock.now())
    assert status.failed_by_reason == {"blocked": 1}
    assert status.dropped_by_reason == {"blocked": 2}
    assert status.unreachable_recipients == 1
    assert metrics.failed.labels("blocked")._value.get() == 3


async def test_server_errors_are_retried_with_backoff_then_recorded_as_failed(
    repos: Repos, botapi: BotApiDouble, sender_bot: Bot, clock: ManualClock
) -> None:
    await repos.outbox.enqueue(text_message("flaky", 31), clock.now())
    await repos.outbox.enqueue(text_message("doomed", 32), clock.now())
    botapi.fail("sendMessage", status=500, count=2, chat_id=31)
    botapi.fail("sendMessage", status=502, count=10, chat_id=32)
    sender, metrics = make_sender(repos, sender_bot, clock, max_attempts=3)

    for _ in range(3):
        await sender.run(until_idle=True)  # returns once the retries are not due yet
        clock.advance(timedelta(minutes=5))
    await sender.run(until_idle=True)

    assert [c.status for c in botapi.calls_of("sendMessage") if c.chat_id == 31] == [500, 500, 200]
    assert [c.status for c in botapi.calls_of("sendMessage") if c.chat_id == 32] == [502, 502, 502]
    flaky, doomed = await repos.outbox.get("flaky"), await repos.outbox.get("doomed")
    assert flaky is not None and flaky["state"] == "sent" and flaky["attempts"] == 3
    assert doomed is not None and doomed["state"] == "failed" and doomed["reason"] == "server-error"
    assert doomed["attempts"] == 3
    assert metrics.retried.labels("server-error")._value.get() == 4


async def test_a_retry_waits_for_its_backoff(
    repos: Repos, botapi: BotApiDouble, sender_bot: Bot, clock: ManualClock
) -> None:
    await repos.outbox.enqueue(text_message("later", 41), clock.now())
    botapi.fail("sendMessage", status=500)
    sender, _ = make_sender(repos, sender_bot, clock, backoff=60.0)

    await sender.run(until_idle=True)
    clock.advance(timedelta(seconds=30))
    await sender.run(until_idle=True)
    assert len(botapi.calls_of("sendMessage")) == 1  # not yet: the backoff is about a minute

    clock.advance(timedelta(seconds=60))
    await sender.run(until_idle=True)
    assert [c.status for c in botapi.calls_of("sendMessage")] == [500, 200]


async def test_the_unique_key_refuses_the_same_message_twice_even_after_it_was_sent(
    repos: Repos, botapi: BotApiDouble, sender_bot: Bot, clock: ManualClock
) -> None:
    summary = text_message("owner-summary:K7Q2XH4M:2026-11-19", 77)
    assert await repos.outbox.enqueue(summary, clock.now())
    assert not await repos.outbox.enqueue(summary, clock.now())
    others = [text_message("owner-summary:AAAA:2026-11-19", 78), summary]
    assert await repos.outbox.enqueue_many(others, clock.now()) == 1
    sender, _ = make_sender(repos, sender_bot, clock)
    await sender.run(until_idle=True)

    assert not await repos.outbox.enqueue(summary, clock.now())
    await sender.run(until_idle=True)
    assert botapi.sent_texts(77) == ["message owner-summary:K7Q2XH4M:2026-11-19"]


async def test_photos_and_documents_go_out_with_their_bytes_caption_and_buttons(
    repos: Repos, botapi: BotApiDouble, sender_bot: Bot, clock: ManualClock
) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Mở", callback_data="o:1")]]).to_dict()
    await repos.outbox.enqueue_many(
        [
            OutboundMessage(
                key="p", kind="owner-summary", chat_id=51, text="Biểu đồ", photo=PNG, reply_markup=markup
            ),
            OutboundMessage(
                key="d",
                kind="official-report",
                chat_id=52,
                text="Báo cáo",
                document=b"a,b\n1,2\n",
                filename="r.csv",
            ),
        ],
        clock.now(),
    )
    sender, _ = make_sender(repos, sender_bot, clock, paid_broadcast=True)
    await sender.run(until_idle=True)

    photo = botapi.calls_of("sendPhoto")[0]
    assert photo.chat_id == 51 and photo.text == "Biểu đồ"
    assert next(iter(photo.files.values()))[1] == PNG
    assert photo.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "o:1"
    assert photo.params["allow_paid_broadcast"] is True
    document = botapi.calls_of("sendDocument")[0]
    assert next(iter(document.files.values())) == ("r.csv", b"a,b\n1,2\n")


async def test_exposure_alerts_jump_ahead_of_queued_summaries(
    repos: Repos, botapi: BotApiDouble, sender_bot: Bot, clock: ManualClock
) -> None:
    await repos.outbox.enqueue_many([text_message(f"s:{i}", 600 + i) for i in range(30)], clock.now())
    clock.advance(timedelta(minutes=1))
    await repos.outbox.enqueue(text_message("exposure:V1:9:x", 699, kind="exposure"), clock.now())
    sender, _ = make_sender(repos, sender_bot, clock, rate=20.0)

    await sender.run(until_idle=True)

    assert botapi.calls_of("sendMessage")[0].chat_id == 699


async def test_stopping_gives_untried_claims_back_to_the_outbox(
    repos: Repos, botapi: BotApiDouble, sender_bot: Bot, clock: ManualClock
) -> None:
    await repos.outbox.enqueue_many([text_message(f"m:{i}", 900 + i) for i in range(40)], clock.now())
    sender, _ = make_sender(repos, sender_bot, clock, rate=5.0)
    run = sender.run()

    async def stop_after_two() -> None:
        await botapi.wait_for("sendMessage", count=2, timeout=10)
        sender.stop()

    await asyncio.gather(run, stop_after_two())

    sent = len(botapi.calls_of("sendMessage"))
    status = await repos.outbox.status(clock.now())
    assert status.by_state["sending"] == 0
    assert status.by_state["sent"] == sent
    assert status.by_state["pending"] == 40 - sent


async def test_a_drain_takes_back_claims_a_dead_sender_left_after_the_drain_started(
    repos: Repos, botapi: BotApiDouble, sender_bot: Bot, clock: ManualClock
) -> None:
    """A killed sender's last claim can reach the database after the new sender recovered the others."""
    messages = [text_message(f"late:{i}", 7000 + i) for i in range(60)]
    await repos.outbox.enqueue_many(messages, clock.now())
    sender, _ = make_sender(repos, sender_bot, clock, rate=12.5)  # claims 50 at a time
    run = asyncio.create_task(sender.run(until_idle=True))
    await botapi.wait_for("sendMessage", count=1, timeout=10)
    ghost = await repos.outbox.claim(
        "sender-killed-earlier", clock.now(), limit=10, lease=timedelta(minutes=5)
    )
    assert len(ghost) == 10

    await run

    assert sorted(call.text or "" for call in botapi.calls_of("sendMessage")) == sorted(
        m.text for m in messages
    )
    status = await repos.outbox.status(clock.now())
    assert (status.by_state["sending"], status.by_state["sent"]) == (0, 60)
    assert sender.stats.recovered == 10
