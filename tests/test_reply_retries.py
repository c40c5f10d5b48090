"""Replies under Telegram's 429: retried after `retry_after` within a bound; an action that happened
is never reported as failed because the message telling it could not be edited."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.app.reply_retries import ReplyRetries
from bot.app.settings import Settings
from bot.clock import ManualClock
from storage.database import Repos
from tests.botapi import BotApiDouble
from tests.harness import TEST_TOKEN, BotHarness, button_data, texts
from tests.test_official_bot import become_official, make_venue, scan

CITIZEN = 6201
OFFICIAL = 6202
FAILED = ("Something went wrong", "Đã có lỗi")


class Waits:
    """The waits the retrying replies asked for; they return at once, so no test sleeps."""

    def __init__(self) -> None:
        self.asked: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)


@pytest.fixture
def waits() -> Waits:
    return Waits()


@pytest.fixture
async def retrying(
    settings: Settings, repos: Repos, botapi: BotApiDouble, clock: ManualClock, waits: Waits
) -> AsyncIterator[BotHarness]:
    retries = ReplyRetries(retries=3, max_wait=timedelta(seconds=10), sleep=waits)
    harness = await BotHarness.start(settings, repos, botapi, clock, reply_retries=retries)
    try:
        yield harness
    finally:
        await harness.stop()


def statuses(botapi: BotApiDouble, method: str) -> list[int]:
    return [call.status for call in botapi.calls_of(method)]


async def test_a_reply_hit_by_429_is_sent_after_the_wait_telegram_asked_for(
    retrying: BotHarness, botapi: BotApiDouble, waits: Waits
) -> None:
    await retrying.send(CITIZEN, "/help", language_code="en")  # first contact out of the way
    botapi.fail("sendMessage", status=429, count=2, retry_after=4)
    said = texts(await retrying.send(CITIZEN, "/help", language_code="en"))
    assert waits.asked == [4.0, 4.0]
    assert statuses(botapi, "sendMessage")[-3:] == [429, 429, 200]
    assert any("/checkin" in t for t in said) and not any(t.startswith(FAILED) for t in said)


async def test_retries_stop_after_the_bound_and_the_log_names_no_token(
    retrying: BotHarness, botapi: BotApiDouble, waits: Waits, caplog: pytest.LogCaptureFixture
) -> None:
    await retrying.send(CITIZEN, "/help", language_code="en")
    before = len(botapi.calls_of("sendMessage"))
    botapi.fail("sendMessage", status=429, count=4, retry_after=1)
    with caplog.at_level(logging.INFO):
        await retrying.send(CITIZEN, "/help", language_code="en")
    assert waits.asked == [1.0, 1.0, 1.0], "three retries, then it gives up"
    assert statuses(botapi, "sendMessage")[before : before + 4] == [429] * 4
    assert any("giving up after 4 attempt(s)" in r.getMessage() for r in caplog.records)
    secret = TEST_TOKEN.partition(":")[2]
    assert not any(secret in r.getMessage() or secret in (r.exc_text or "") for r in caplog.records)


async def test_a_wait_longer_than_the_bound_is_not_waited_for(
    retrying: BotHarness, botapi: BotApiDouble, waits: Waits
) -> None:
    await retrying.send(CITIZEN, "/help", language_code="en")
    botapi.fail("sendMessage", status=429, count=1, retry_after=3600)
    await retrying.send(CITIZEN, "/help", language_code="en")
    assert waits.asked == []
    assert statuses(botapi, "sendMessage")[-2:] == [429, 200], "the error handler's answer went out"


async def test_alerts_queued_are_reported_as_queued_when_the_edit_fails(
    retrying: BotHarness, botapi: BotApiDouble, waits: Waits
) -> None:
    venue = await make_venue(retrying, "Quán Bún Chả Hương Liên")
    await scan(retrying, CITIZEN, venue)
    await become_official(retrying, OFFICIAL, "Hà Nội")
    calls = await retrying.send(OFFICIAL, f"/exposure {venue.code} 2026-11-19 08:00 2026-11-19 10:00")
    confirm = button_data(calls, "Gửi cảnh báo")
    botapi.fail("answerCallbackQuery", status=400, description="Bad Request: query is too old")
    botapi.fail("editMessageText", status=429, count=5, retry_after=60)
    calls = await retrying.press(OFFICIAL, confirm)
    said = texts(calls)
    assert await retrying.repos.outbox.count(kind="exposure") == 1
    assert not any(t.startswith(FAILED) for t in said), said
    [told] = [call for call in calls if call.method == "sendMessage"]
    assert told.ok and "Đã xếp lịch gửi cảnh báo cho 1 người" in (told.text or "")
    assert waits.asked == [], "60 s is past the bound: told at once by a new message"


async def test_an_unchanged_message_is_no_failure(retrying: BotHarness, botapi: BotApiDouble) -> None:
    await retrying.send(CITIZEN, "/language", language_code="en")
    botapi.fail("editMessageText", status=400, description="Bad Request: message is not modified")
    said = texts(await retrying.press(CITIZEN, "lang:en", language_code="en"))
    assert not any(t.startswith(FAILED) for t in said), said
    profile = await retrying.repos.users.get(CITIZEN)
    assert profile is not None and profile.language == "en"
