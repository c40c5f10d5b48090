"""The delivery engine's pure parts: how a failed send is judged, and how claimed messages are spaced."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)

from bot.app.delivery.errors import Verdict, classify
from bot.app.delivery.queue import ReadyQueue
from storage.outbox import QueuedMessage


@pytest.fixture(autouse=True)
def timedelta_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


def test_each_telegram_error_gets_its_verdict() -> None:
    flood = classify(RetryAfter(timedelta(seconds=7)))
    assert flood.verdict is Verdict.FLOOD and flood.retry_after == 7.0
    assert classify(Forbidden("Forbidden: bot was blocked by the user")).reason == "blocked"
    assert classify(Forbidden("Forbidden: user is deactivated")).reason == "deactivated"
    gone = classify(BadRequest("Bad Request: chat not found"))
    assert gone.verdict is Verdict.UNREACHABLE and gone.reason == "chat-not-found"
    assert classify(BadRequest("Bad Request: message is too long")).verdict is Verdict.FAILED
    assert classify(ChatMigrated(42)).verdict is Verdict.FAILED
    assert classify(TimedOut()).reason == "timeout"
    assert classify(NetworkError("Bad Gateway")).reason == "server-error"
    try:
        raise NetworkError("connection refused") from OSError("refused")
    except NetworkError as exc:
        assert classify(exc).reason == "network"
    assert classify(InvalidToken()).verdict is Verdict.RETRY
    unknown = classify(ValueError("odd"))
    assert unknown.verdict is Verdict.RETRY and unknown.reason == "error"


def message(key: str, chat_id: int) -> QueuedMessage:
    return QueuedMessage(
        key=key,
        kind="x",
        chat_id=chat_id,
        text=key,
        photo=None,
        document=None,
        filename=None,
        reply_markup=None,
        meta={},
        attempts=0,
        created_at=datetime(2026, 11, 19, tzinfo=UTC),
    )


def test_claimed_messages_to_one_chat_are_spaced_and_the_far_ones_go_back() -> None:
    queue = ReadyQueue()
    claimed = [message(f"a{n}", 1) for n in range(8)] + [message("b", 2)]
    later = queue.place(
        claimed, 100.0, chat_ready_at=lambda chat: 101.0 if chat == 2 else -1.0, gap=1.0, horizon=5.0
    )
    assert [m.key for m in later] == ["a6", "a7"], "due more than 5 s ahead: back to the outbox"
    order = []
    while queue:
        slot = queue.pop()
        order.append((slot.message.key, slot.ready_at))
    assert order[:3] == [("a0", 100.0), ("a1", 101.0), ("b", 101.0)]
    assert order[-1] == ("a5", 105.0)
    queue.place(
        [message("c", 3), message("d", 3)], 200.0, chat_ready_at=lambda chat: -1.0, gap=1.0, horizon=5.0
    )
    assert [m.key for m in queue.take_chat(3)] in (["c", "d"], ["d", "c"]) and len(queue) == 0
