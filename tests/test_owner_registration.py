"""Owner stories: `/newvenue` step by step, validation, cancel, and a restart in the middle."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import zxingcpp
from PIL import Image

from bot.app.settings import Settings
from bot.clock import ManualClock
from bot.venues import InvalidInput, clean_text
from storage.database import Repos
from tests import factories
from tests.botapi import ApiCall, BotApiDouble
from tests.harness import BotHarness, button_data, buttons, texts

OWNER = 6001
NAME = "Phòng khám Đức Thành"
ADDRESS = "237 Âu Cơ"


def uploaded(call: ApiCall, field: str) -> bytes:
    """The bytes of a file the bot uploaded in this call."""
    if field in call.files:
        return call.files[field][1]
    reference = str(call.params.get(field, ""))
    return call.files[reference.removeprefix("attach://")][1]


async def venues_of(bot: BotHarness, user: int = OWNER) -> list:
    return await bot.repos.venues.for_member(user)


async def conversation_state(bot: BotHarness, user: int = OWNER) -> str | None:
    doc = await bot.repos.db["bot_conversations"].find_one({"_id": f"owner|{user}|{user}"})
    return doc["state"] if doc else None


async def stored_draft(bot: BotHarness, user: int = OWNER) -> dict:
    doc = await bot.repos.db["bot_user_data"].find_one({"_id": user})
    return (doc or {}).get("data", {}).get("venue_draft", {})


async def up_to_step(bot: BotHarness, step: int, user: int = OWNER) -> list[ApiCall]:
    """Answer the first `step - 1` questions; returns the calls that asked question `step`."""
    calls = await bot.send(user, "/newvenue", language_code="en")
    answers = [NAME, ADDRESS, "Hà Nội", "Ba"]  # "Ba" matches several wards: choose one
    for number in range(1, step):
        if number <= 4:
            calls = await bot.send(user, answers[number - 1], language_code="en")
        if number == 4:
            calls = await bot.press(user, button_data(calls, "Phường Ba Đình"), language_code="en")
        if number == 5:
            calls = await bot.press(user, button_data(calls, "Clinic"), language_code="en")
    return calls


async def test_newvenue_asks_six_questions_then_sends_the_poster(bot: BotHarness) -> None:
    said = texts(await bot.send(OWNER, "/newvenue", language_code="en"))
    assert any("1/6" in t and "name" in t for t in said)
    assert await conversation_state(bot) == "new_venue_name"

    said = texts(await bot.send(OWNER, NAME, language_code="en"))
    assert any("2/6" in t and "address" in t for t in said)
    assert (await stored_draft(bot))["name"] == NAME

    calls = await bot.send(OWNER, ADDRESS, language_code="en")
    assert any("3/6" in t for t in texts(calls))
    assert len(buttons(calls[-1])) == 34, "one button per province"
    hanoi = bot.container.regions.match_province("Hà Nội")

    calls = await bot.press(OWNER, f"nv:prov:{hanoi.id}", language_code="en")
    assert any("Thành phố Hà Nội" in t and "4/6" in t for t in texts(calls))
    assert (await stored_draft(bot))["province"] == hanoi.id

    calls = await bot.send(OWNER, "ba", language_code="en")  # several wards match: choose one
    ward = bot.container.regions.match_ward(hanoi.id, "Ba Đình")
    assert (ward.name, f"nv:ward:{ward.id}") in buttons(calls[-1])

    calls = await bot.press(OWNER, f"nv:ward:{ward.id}", language_code="en")
    assert any("5/6" in t for t in texts(calls))
    assert ("Clinic / pharmacy", "nv:cat:clinic") in buttons(calls[-1])

    calls = await bot.press(OWNER, "nv:cat:clinic", language_code="en")
    assert any("6/6" in t for t in texts(calls))
    assert ("Skip", "nv:skip") in buttons(calls[-1])

    calls = await bot.send(OWNER, "40", language_code="en")
    [venue] = await venues_of(bot)
    assert (venue.name, venue.address, venue.category, venue.capacity) == (NAME, ADDRESS, "clinic", 40)
    assert venue.owner_id == OWNER and venue.staff_ids == () and venue.active
    assert venue.regions == ward.path
    said = texts(calls)
    assert any(venue.code in t and bot.links.checkin(venue.code) in t for t in said)

    photo = next(c for c in calls if c.method == "sendPhoto")
    with Image.open(io.BytesIO(uploaded(photo, "photo"))) as image:
        assert image.format == "PNG" and image.width == 1240
        decoded = [result.text for result in zxingcpp.read_barcodes(image)]
    assert decoded == [bot.links.checkin(venue.code)], "the poster's QR opens this venue's check-in"
    document = next(c for c in calls if c.method == "sendDocument")
    assert uploaded(document, "document").startswith(b"%PDF")
    assert venue.code in str(document.params.get("caption", "")) or venue.code in str(document.files)

    assert await conversation_state(bot) is None, "the conversation is over"
    assert await stored_draft(bot) == {}

    day = await bot.repos.stats.region_days(hanoi.id, "2026-11-19", "2026-11-19")
    assert day["2026-11-19"].venues_new == 1


async def test_a_ward_typed_in_full_needs_no_tap(bot: BotHarness) -> None:
    await up_to_step(bot, 4)
    calls = await bot.send(OWNER, "Nghĩa Đô", language_code="en")
    said = texts(calls)
    assert any("Ward or commune: Phường Nghĩa Đô" in t and "5/6" in t for t in said)
    assert ("Clinic / pharmacy", "nv:cat:clinic") in buttons(calls[-1])
    await bot.press(OWNER, "nv:cat:clinic", language_code="en")
    await bot.send(OWNER, "20", language_code="en")
    [venue] = await bot.repos.venues.for_member(OWNER)
    assert (
        venue.region_id
        == bot.container.regions.match_ward(bot.container.regions.match_province("Hà Nội").id, "Nghĩa Đô").id
    )


async def test_skip_capacity_and_vietnamese_prompts(bot: BotHarness) -> None:
    said = texts(await bot.send(OWNER, "/newvenue"))
    assert any("1/6 · Tên địa điểm" in t for t in said)
    await bot.send(OWNER, NAME)
    await bot.send(OWNER, ADDRESS)
    await bot.send(OWNER, "Ha Noi")  # typed without diacritics
    calls = await bot.send(OWNER, "Ba")
    await bot.press(OWNER, button_data(calls, "Phường Ba Đình"))
    calls = await bot.press(OWNER, "nv:cat:food")
    assert ("Bỏ qua", "nv:skip") in buttons(calls[-1])
    said = texts(await bot.press(OWNER, "nv:skip"))
    assert any("Đã đăng ký" in t for t in said)
    [venue] = await venues_of(bot)
    assert venue.capacity is None and venue.category == "food"


@pytest.mark.parametrize(
    ("step", "answer", "reason"),
    [
        (1, "   ", "Please type something."),
        (1, "x" * 121, "at most 120 characters"),
        (1, "\u200b\u202e\t", "Please type something."),
        (2, "y" * 200, "at most 120 characters"),
        (4, "z" * 121, "at most 120 characters"),
        (6, "forty", "whole number"),
        (6, "0", "between 1 and 100000"),
        (6, "100001", "between 1 and 100000"),
    ],
)
async def test_a_bad_answer_is_asked_again_with_the_reason(
    bot: BotHarness, step: int, answer: str, reason: str
) -> None:
    await up_to_step(bot, step)
    state = await conversation_state(bot)
    said = texts(await bot.send(OWNER, answer, language_code="en"))
    assert any(reason in t for t in said), said
    assert any(f"{step}/6" in t for t in said) or step == 4, "the question is asked again"
    assert await conversation_state(bot) == state
    assert await venues_of(bot) == []


async def test_unknown_province_offers_every_province_again(bot: BotHarness) -> None:
    await up_to_step(bot, 3)
    calls = await bot.send(OWNER, "Atlantis", language_code="en")
    assert any("Atlantis" in t for t in texts(calls))
    assert len(buttons(calls[-1])) == 34
    assert await conversation_state(bot) == "new_venue_province"


async def test_ward_search_results_page_and_browse(bot: BotHarness) -> None:
    await up_to_step(bot, 4)
    hanoi = bot.container.regions.match_province("Hà Nội")
    every_ward = bot.container.regions.wards(hanoi.id)

    calls = await bot.send(OWNER, "Phường", language_code="en")
    first_page = [label for label, data in buttons(calls[-1]) if data.startswith("nv:ward:")]
    assert len(first_page) == 10
    assert any("page 1 of" in t for t in texts(calls))
    calls = await bot.press(OWNER, button_data(calls, "▶"), language_code="en")
    second_page = [label for label, data in buttons(calls[-1]) if data.startswith("nv:ward:")]
    expected = [ward.name for ward in bot.container.regions.search_wards(hanoi.id, "Phường", limit=500)]
    assert len(expected) > 20
    assert (first_page, second_page) == (expected[:10], expected[10:20])

    calls = await bot.press(OWNER, "nv:wall", language_code="en")
    listed = [data for _, data in buttons(calls[-1]) if data.startswith("nv:ward:")]
    assert listed == [f"nv:ward:{ward.id}" for ward in every_ward[:10]]
    pages = (len(every_ward) + 9) // 10
    assert any(f"page 1 of {pages}" in t for t in texts(calls))
    calls = await bot.press(OWNER, f"nv:wpage:{pages - 1}", language_code="en")
    listed = [data for _, data in buttons(calls[-1]) if data.startswith("nv:ward:")]
    assert listed == [f"nv:ward:{ward.id}" for ward in every_ward[(pages - 1) * 10 :]]

    said = texts(await bot.send(OWNER, "Zzyzx", language_code="en"))
    assert any("No ward or commune" in t and "Zzyzx" in t for t in said)
    assert await conversation_state(bot) == "new_venue_ward"


async def test_a_ward_of_another_province_is_refused(bot: BotHarness) -> None:
    await up_to_step(bot, 4)
    regions = bot.container.regions
    saigon = regions.match_province("Hồ Chí Minh")
    foreign = regions.wards(saigon.id)[0]
    said = texts(await bot.press(OWNER, f"nv:ward:{foreign.id}", language_code="en"))
    assert any("expired" in t for t in said)
    assert "ward" not in await stored_draft(bot)
    assert await conversation_state(bot) == "new_venue_ward"


async def test_changing_the_province_from_the_ward_step(bot: BotHarness) -> None:
    await up_to_step(bot, 4)
    calls = await bot.press(OWNER, "nv:reprov", language_code="en")
    assert len(buttons(calls[-1])) == 34
    assert await conversation_state(bot) == "new_venue_province"
    saigon = bot.container.regions.match_province("Hồ Chí Minh")
    said = texts(await bot.press(OWNER, f"nv:prov:{saigon.id}", language_code="en"))
    assert any(saigon.name in t and "4/6" in t for t in said)
    assert (await stored_draft(bot))["province"] == saigon.id


@pytest.mark.parametrize("step", [1, 2, 3, 4, 5, 6])
async def test_cancel_at_any_step_saves_nothing(bot: BotHarness, step: int) -> None:
    await up_to_step(bot, step)
    said = texts(await bot.send(OWNER, "/cancel", language_code="en"))
    assert any("Cancelled" in t for t in said)
    assert await venues_of(bot) == []
    assert await conversation_state(bot) is None
    assert await stored_draft(bot) == {}
    after = texts(await bot.send(OWNER, "Quán Phở Hà", language_code="en"))
    assert not any("/6" in t for t in after), "plain text no longer answers a question"
    again = texts(await bot.send(OWNER, "/cancel", language_code="en"))
    assert any("nothing to cancel" in t for t in again)


async def test_something_other_than_text_repeats_the_question(bot: BotHarness) -> None:
    await up_to_step(bot, 1)
    before = len(bot.api.calls)
    await bot.feed(factories.sticker_update(OWNER, language_code="en"))
    said = texts(bot.api.calls[before:])
    assert any("Please answer with text" in t and "1/6" in t for t in said)
    await bot.send(OWNER, NAME, language_code="en")
    await bot.send(OWNER, ADDRESS, language_code="en")
    calls = await bot.send(OWNER, "Hà Nội", language_code="en")
    calls = await bot.send(OWNER, "Ba", language_code="en")
    await bot.press(OWNER, button_data(calls, "Phường Ba Đình"), language_code="en")
    said = texts(await bot.send(OWNER, "a clinic", language_code="en"))
    assert any("choose with the buttons" in t and "5/6" in t for t in said)
    assert await conversation_state(bot) == "new_venue_category"


async def test_newvenue_again_starts_over(bot: BotHarness) -> None:
    await up_to_step(bot, 3)
    said = texts(await bot.send(OWNER, "/newvenue", language_code="en"))
    assert any("1/6" in t for t in said)
    assert await stored_draft(bot) == {}
    assert await conversation_state(bot) == "new_venue_name"


async def test_a_registration_button_outside_the_conversation_has_expired(bot: BotHarness) -> None:
    said = texts(await bot.press(OWNER, "nv:cat:shop", language_code="en"))
    assert any("expired" in t for t in said)
    assert await venues_of(bot) == []


async def test_an_abandoned_registration_lapses_after_a_day(bot: BotHarness) -> None:
    await up_to_step(bot, 2)
    bot.clock.advance(timedelta(hours=25))
    said = texts(await bot.send(OWNER, "Số 5 Hàng Bài", language_code="en"))
    assert not any("/6" in t for t in said)
    assert await venues_of(bot) == []


async def test_a_restart_in_the_middle_continues_where_the_owner_left_off(
    settings: Settings, repos: Repos, botapi: BotApiDouble, clock: ManualClock
) -> None:
    first = await BotHarness.start(settings, repos, botapi, clock)
    try:
        await up_to_step(first, 4, user=OWNER)
        calls = await first.send(OWNER, "Ba", language_code="en")
        ward_button = button_data(calls, "Phường Ba Đình")
    finally:
        await first.stop()

    second = await BotHarness.start(settings, repos, botapi, clock)
    try:
        said = texts(await second.press(OWNER, ward_button, language_code="en"))
        assert any("5/6" in t for t in said), "the new process knows the conversation and its answers"
        await second.press(OWNER, "nv:cat:market", language_code="en")
        said = texts(await second.send(OWNER, "120", language_code="en"))
        assert any("is registered" in t for t in said)
    finally:
        await second.stop()
    [venue] = await repos.venues.for_member(OWNER)
    assert (venue.name, venue.address, venue.category, venue.capacity) == (NAME, ADDRESS, "market", 120)


async def test_two_instances_share_one_conversation(
    bot: BotHarness, settings: Settings, repos: Repos, botapi: BotApiDouble, clock: ManualClock
) -> None:
    """Updates of one conversation may reach different instances (webhook behind a balancer, a crash)."""
    other = await BotHarness.start(settings, repos, botapi, clock)
    try:
        await bot.send(OWNER, "/newvenue", language_code="en")
        said = texts(await other.send(OWNER, NAME, language_code="en"))
        assert any("2/6" in t for t in said)
        said = texts(await bot.send(OWNER, ADDRESS, language_code="en"))
        assert any("3/6" in t for t in said)
        await other.send(OWNER, "Hà Nội", language_code="en")
        calls = await bot.send(OWNER, "Ba", language_code="en")
        await other.press(OWNER, button_data(calls, "Phường Ba Đình"), language_code="en")
        await bot.press(OWNER, "nv:cat:shop", language_code="en")
        said = texts(await other.press(OWNER, "nv:skip", language_code="en"))
        assert any("is registered" in t for t in said)
        stale = texts(await bot.send(OWNER, "Chợ Hôm", language_code="en"))
        assert not any("/6" in t for t in stale), "the first instance knows the conversation ended"
    finally:
        await other.stop()
    [venue] = await repos.venues.for_member(OWNER)
    assert (venue.name, venue.category) == (NAME, "shop")


def test_names_and_addresses_are_kept_as_plain_text() -> None:
    assert clean_text("Quán\u0007Ngon\tPhố\nCổ") == "Quán Ngon Phố Cổ"
    assert clean_text("\u202e\u200d=Số 5\u200bNgõ 3\u2069") == "=Số 5Ngõ 3"
    with pytest.raises(InvalidInput, match="at most 120"):
        clean_text("x" * 121)
