"""Profiles: created at first contact, kept while the person uses the bot, gone after the retention period."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import ManualClock
from bot.profiles import MAX_NAME, Profiles
from bot.text import plain_text
from storage.database import Repos
from tests import factories
from tests.harness import BotHarness, texts

RETENTION = timedelta(days=21)


async def ttl_fields(collection: object) -> set[str]:
    """The fields of a collection's TTL indexes."""
    fields = set()
    async for index in await collection.list_indexes():  # type: ignore[attr-defined]
        if "expireAfterSeconds" in index:
            fields.update(index["key"].keys())
    return fields


async def test_first_contact_creates_a_profile_that_expires_after_the_retention_period(
    repos: Repos, clock: ManualClock
) -> None:
    profiles = Profiles(repos.users, clock, RETENTION)
    greeting = await profiles.greet(4001, display_name="Lan", telegram_language="en")
    assert greeting.first_contact and greeting.language == "en"
    profile = await repos.users.get(4001)
    assert profile is not None and profile.expires_at == clock.now() + RETENTION
    assert "expires_at" in await ttl_fields(repos.db["users"]), "the server deletes expired profiles"


async def test_each_contact_pushes_the_expiry_forward(repos: Repos, clock: ManualClock) -> None:
    profiles = Profiles(repos.users, clock, RETENTION)
    await profiles.greet(4002, display_name="Lan", telegram_language="vi")
    clock.advance(timedelta(days=10))
    again = await profiles.greet(4002, display_name="Lan", telegram_language="vi")
    assert not again.first_contact
    profile = await repos.users.get(4002)
    assert profile is not None and profile.expires_at == clock.now() + RETENTION


async def test_a_person_active_every_day_keeps_a_fresh_expiry_through_the_bot(bot: BotHarness) -> None:
    await bot.send(4003, "/help")
    first = await bot.repos.users.get(4003)
    bot.clock.advance(timedelta(days=3))
    await bot.send(4003, "/help")
    later = await bot.repos.users.get(4003)
    assert first is not None and later is not None
    assert first.expires_at is not None and later.expires_at is not None
    assert later.expires_at - first.expires_at == timedelta(days=3)


async def test_bot_data_of_people_expires_too(repos: Repos, clock: ManualClock) -> None:
    await repos.persistence.save_user_data(4004, {"draft": "x"}, clock.now())
    assert "expires_at" in await ttl_fields(repos.db["bot_user_data"])
    assert "expires_at" in await ttl_fields(repos.db["bot_chat_data"])


def test_typed_text_loses_control_and_invisible_characters() -> None:
    assert plain_text("An\tNguyễn\nVăn\r\n") == "An Nguyễn Văn"
    assert plain_text("\u200d=cmd") == "=cmd"
    assert plain_text("\u202eLan\u202c \u2066Anh\u2069\u200b\ufeff") == "Lan Anh"
    assert plain_text("Lan\ud800") == "Lan", "a lone surrogate could not be stored"
    assert plain_text("Cô giáo 👩\u200d🏫") == "Cô giáo 👩\u200d🏫", "the joiner of an emoji sequence stays"
    assert plain_text("Nguye\u0302\u0303n") == "Nguyễn", "one form (NFC) of every letter"
    assert plain_text("x" * 500, max_length=MAX_NAME) == "x" * 128


async def test_a_display_name_is_stored_clean(bot: BotHarness) -> None:
    await bot.send(4101, "/help", first_name="\u202eLan\t", last_name="Anh\n\u200b")
    profile = await bot.repos.users.get(4101)
    assert profile is not None and profile.display_name == "Lan Anh"


async def test_a_shared_phone_number_is_stored_as_text_exactly(bot: BotHarness) -> None:
    await bot.feed(factories.contact_update(4102, "0912345678"))
    profile = await bot.repos.users.get(4102)
    assert profile is not None and profile.phone == "0912345678"
    before = len(bot.api.calls)
    await bot.feed(factories.contact_update(4102, "=HYPERLINK(1)"))
    said = texts(bot.api.calls[before:])
    assert any("không giống số điện thoại" in t for t in said), said
    profile = await bot.repos.users.get(4102)
    assert profile is not None and profile.phone == "0912345678", "nothing stored for garbage"
