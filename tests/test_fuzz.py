"""Fuzzing the real Application: random text, commands, button data and update JSON.

Whatever arrives, no handler fails (nothing reaches the error handler), nothing is stored for
input that cannot be valid, and every reply is one Telegram accepts: plain text within its
length limits, button data within 64 bytes. The examples are derived deterministically
(`derandomize`), so a run in CI tries the same inputs as a run here.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app.web import parse_update
from bot.text import utf16_length
from storage.database import Repos
from tests import factories
from tests.botapi import ApiCall
from tests.harness import BotHarness
from tests.test_official_bot import ADMIN, become_official, make_venue

CITIZEN = 6301
OFFICIAL = 6302
OWNER = 6303
PEOPLE = (CITIZEN, OFFICIAL, OWNER, ADMIN)

# Collections a contact itself refreshes (the profile and its expiry, PTB's conversation and user
# data, the update ids seen) and the dashboard's sign-in links, which /dashboard hands out whatever
# follows it. Every other collection must be left exactly as it was.
REFRESHED_BY_CONTACT = {
    "users",
    "bot_user_data",
    "bot_chat_data",
    "bot_data",
    "bot_conversations",
    "seen_updates",
    "dashboard_links",
}

COMMANDS = (
    "start", "checkin", "checkout", "history", "forget", "language", "help", "newvenue", "myvenues",
    "today", "report", "subscribe", "subscriptions", "inactive", "trace", "exposure", "dashboard",
    "invite", "officials", "audit", "nosuchcommand",
)  # fmt: skip
CALLBACK_PREFIXES = (
    "", "lang:", "v:out:", "v:plus:", "v:forget:", "v:forget:yes", "h:", "nv:", "nv:cat:", "nv:ward:",
    "nv:skip", "off:", "off:exp:", "off:rev:", "off:sub:", "off:unsub:", "mv:", "st:", "rep:",
)  # fmt: skip
# No venue code, region, day, window or number contains one of these, and text cleaning keeps them:
# an argument with one of them in it cannot be valid input.
JUNK = "§¤¶†‡※⁂"
FAILURE_TEXTS = ("Something went wrong", "Đã có lỗi xảy ra")

FUZZ = settings(
    max_examples=100,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

junk_args = st.builds(
    lambda before, junk, after: f"{before}{junk}{after}",
    st.text(max_size=40),
    st.sampled_from(JUNK),
    st.text(max_size=40),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@dataclass
class Fuzzed:
    """A bot with a venue and its owner, a citizen, an official and an admin; what went wrong."""

    bot: BotHarness
    errors: list[logging.LogRecord]


class _Errors(logging.Handler):
    def __init__(self, sink: list[logging.LogRecord]) -> None:
        super().__init__(logging.ERROR)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(record)


@pytest.fixture
async def fuzzed(bot: BotHarness) -> AsyncIterator[Fuzzed]:
    await make_venue(bot, "Quán Phở Thìn", owner=OWNER)
    await bot.send(CITIZEN, "/help")
    await become_official(bot, OFFICIAL, "Hà Nội")
    await bot.send(ADMIN, "/help")
    errors: list[logging.LogRecord] = []
    handler = _Errors(errors)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield Fuzzed(bot, errors)
    finally:
        root.removeHandler(handler)


async def stored(repos: Repos) -> dict[str, list[Any]]:
    """Every document of every collection a contact does not refresh."""
    snapshot = {}
    for name in sorted(await repos.db.list_collection_names()):
        if name not in REFRESHED_BY_CONTACT:
            snapshot[name] = await repos.db[name].find().sort("_id", 1).to_list()
    return snapshot


def check_replies(calls: list[ApiCall]) -> None:
    """Each call is one Telegram would accept, and none tells the person that something failed."""
    for call in calls:
        params = call.params
        assert "parse_mode" not in params, "plain text: no entity can be malformed"
        text = params.get("text")
        if call.method in {"sendMessage", "editMessageText"}:
            assert isinstance(text, str) and 0 < utf16_length(text) <= 4096, (call.method, text)
        if call.method == "answerCallbackQuery" and text is not None:
            assert utf16_length(str(text)) <= 200, text
        caption = params.get("caption")
        assert caption is None or utf16_length(str(caption)) <= 1024
        if isinstance(text, str):
            assert not any(failure in text for failure in FAILURE_TEXTS), text
        markup = params.get("reply_markup")
        for row in markup.get("inline_keyboard", []) if isinstance(markup, dict) else []:
            for button in row:
                assert button["text"], "a button has a label"
                data = button.get("callback_data")
                assert data is None or 0 < len(data.encode()) <= 64, data


async def run_update(fuzzed: Fuzzed, update: dict[str, Any], *, answered: bool) -> None:
    """Feed one update; no handler fails, nothing is stored, every reply is acceptable."""
    bot = fuzzed.bot
    fuzzed.errors.clear()
    before, calls_before = await stored(bot.repos), len(bot.api.calls)
    await bot.feed(update)
    calls = bot.api.calls[calls_before:]
    assert not fuzzed.errors, [record.getMessage() for record in fuzzed.errors]
    check_replies(calls)
    if answered:
        assert calls, "every message and press gets an answer"
    assert await stored(bot.repos) == before, "nothing stored for invalid input"


@FUZZ
@given(person=st.sampled_from(PEOPLE), text=st.text(max_size=300))
async def test_free_text_is_answered_and_stores_nothing(fuzzed: Fuzzed, person: int, text: str) -> None:
    if text.startswith("/"):
        text = " " + text  # commands have their own test
    await run_update(fuzzed, factories.message_update(person, text), answered=bool(text.strip()))


@FUZZ
@given(person=st.sampled_from(PEOPLE), command=st.sampled_from(COMMANDS), args=junk_args)
async def test_commands_with_impossible_arguments_store_nothing(
    fuzzed: Fuzzed, person: int, command: str, args: str
) -> None:
    update = factories.message_update(person, f"/{command} {args}")
    # /newvenue starts a conversation whatever follows; leave it so that the next example is a command.
    await run_update(fuzzed, update, answered=True)
    await fuzzed.bot.send(person, "/cancel")


@FUZZ
@given(
    person=st.sampled_from(PEOPLE),
    prefix=st.sampled_from(CALLBACK_PREFIXES),
    rest=st.text(max_size=50) | junk_args,
)
async def test_random_button_data_is_answered_and_stores_nothing(
    fuzzed: Fuzzed, person: int, prefix: str, rest: str
) -> None:
    data = (prefix + rest).encode()[:64].decode(errors="ignore")
    if data in {"v:forget:yes", "lang:en", "lang:vi"}:
        data += JUNK[0]  # real buttons of everyone's chat: their own tests cover them
    await run_update(fuzzed, factories.callback_update(person, data), answered=True)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON document that a mutation may replace."""
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found.extend(paths(child, (*prefix, key)))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found.extend(paths(child, (*prefix, index)))
    return found


def replaced(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    changed = copy.deepcopy(document)
    target = changed
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return changed


@FUZZ
@given(data=st.data())
async def test_mutated_update_json_never_breaks_a_handler(fuzzed: Fuzzed, data: st.DataObject) -> None:
    templates = [
        factories.message_update(CITIZEN, "xin chào"),
        factories.message_update(OFFICIAL, "/report hôm qua"),
        factories.callback_update(CITIZEN, "v:plus:0123456789abcdef01234567"),
        factories.contact_update(CITIZEN, "0912345678"),
    ]
    document = data.draw(st.sampled_from(templates))
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths(document)[1:]))
        if path == ("update_id",):
            continue  # a fresh update id each time, so the update is not a duplicate
        document = replaced(document, path, data.draw(json_values))
    update = parse_update(document, fuzzed.bot.app.bot)
    if update is None:
        return  # the webhook answers 400
    fuzzed.errors.clear()
    calls_before = len(fuzzed.bot.api.calls)
    await fuzzed.bot.app.process_update(update)
    assert not fuzzed.errors, [record.getMessage() for record in fuzzed.errors]
    check_replies(fuzzed.bot.api.calls[calls_before:])
