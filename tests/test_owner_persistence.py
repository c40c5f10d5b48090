"""The MongoDB persistence behind conversations: what it stores, skips and forgets."""

from __future__ import annotations

from datetime import timedelta

from bot.app.persistence import MongoPersistence
from bot.clock import ManualClock
from storage.database import Repos


def persistence(repos: Repos, clock: ManualClock) -> MongoPersistence:
    return MongoPersistence(repos.persistence, now=clock.now, transient_user_keys=["lang"])


async def test_user_data_keeps_lasting_keys_only_and_skips_unchanged_writes(
    repos: Repos, clock: ManualClock
) -> None:
    store = persistence(repos, clock)
    users = repos.db["bot_user_data"]
    await store.update_user_data(1, {"lang": "vi"})
    assert await users.count_documents({}) == 0, "a cached language is not worth a document per user"
    await store.update_user_data(1, {"lang": "vi", "venue_draft": {"name": "Quán A"}})
    written = await users.find_one({"_id": 1})
    assert written["data"] == {"venue_draft": {"name": "Quán A"}}
    clock.advance(timedelta(minutes=5))
    await store.update_user_data(1, {"lang": "en", "venue_draft": {"name": "Quán A"}})
    assert (await users.find_one({"_id": 1}))["updated_at"] == written["updated_at"], "nothing changed"
    await store.update_user_data(1, {"venue_draft": {"name": "Quán B"}})
    assert (await users.find_one({"_id": 1}))["data"]["venue_draft"]["name"] == "Quán B"

    fresh = persistence(repos, clock)
    assert await fresh.get_user_data() == {1: {"venue_draft": {"name": "Quán B"}}}
    await fresh.update_user_data(1, {})
    assert await users.count_documents({}) == 0


async def test_reloading_user_data_keeps_the_transient_cache(repos: Repos, clock: ManualClock) -> None:
    writer, reader = persistence(repos, clock), persistence(repos, clock)
    await writer.update_user_data(7, {"venue_draft": {"step": 2}})
    data = {"lang": "en", "venue_draft": {"step": 1}}
    await reader.reload_user_data(7, data)
    assert data == {"lang": "en", "venue_draft": {"step": 2}}
    data["venue_draft"]["step"] = 3
    await reader.update_user_data(7, data)
    assert (await repos.persistence.user_data(7)) == {"venue_draft": {"step": 3}}, "in-place edits are seen"


async def test_conversations_lapse_and_end(repos: Repos, clock: ManualClock) -> None:
    store = persistence(repos, clock)
    await store.update_conversation("owner", (5, 5), "new_venue_ward")
    await store.update_conversation("owner", (6, 6), "new_venue_name")
    await store.update_conversation("other", (5, 5), "elsewhere")
    assert await store.get_conversations("owner") == {(5, 5): "new_venue_ward", (6, 6): "new_venue_name"}
    assert await store.load_conversation("owner", (5, 5)) == "new_venue_ward"
    await store.update_conversation("owner", (6, 6), None)
    assert await store.load_conversation("owner", (6, 6)) is None
    clock.advance(timedelta(hours=24, seconds=1))
    assert await store.get_conversations("owner") == {}
    assert await store.load_conversation("owner", (5, 5)) is None


async def test_chat_and_bot_data_round_trip(repos: Repos, clock: ManualClock) -> None:
    store = persistence(repos, clock)
    await store.update_chat_data(-100, {"pinned": 3})
    await store.update_bot_data({"version": 2})
    fresh = persistence(repos, clock)
    assert await fresh.get_chat_data() == {-100: {"pinned": 3}}
    assert await fresh.get_bot_data() == {"version": 2}
    await fresh.drop_chat_data(-100)
    assert await persistence(repos, clock).get_chat_data() == {}
    assert await fresh.get_callback_data() is None
