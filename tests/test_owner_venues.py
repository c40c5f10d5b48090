"""Owner stories: /myvenues, posters, settings, deactivation, and every refusal to non-owners."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.app.settings import Settings
from bot.clock import ManualClock
from bot.venues import InvalidInput, parse_auto_checkout, venue_request
from handlers.owner.access import parse_venue_data, venue_data
from storage.database import Repos
from storage.models import Venue
from tests import factories
from tests.botapi import BotApiDouble
from tests.harness import BotHarness, button_data, buttons, texts

OWNER = 6101
STAFF = 6102
STRANGER = 6103
CITIZEN = 6104
DAY = "2026-11-19"


async def make_venue(
    bot: BotHarness, name: str = "Tiệm thuốc Tâm An", owner: int | None = OWNER, capacity: int | None = None
) -> Venue:
    regions = bot.container.regions
    hanoi = regions.match_province("Hà Nội")
    request = venue_request(
        name=name,
        address="12 Hàng Bài",
        region=regions.match_ward(hanoi.id, "Hoàn Kiếm"),
        category="clinic",
        capacity=capacity,
        owner_id=owner,
    )
    return await bot.container.venues.register(request)


async def with_staff(bot: BotHarness, venue: Venue, user: int = STAFF) -> Venue:
    return await bot.repos.venues.add_staff(venue.code, user)


async def reload(bot: BotHarness, venue: Venue) -> Venue:
    return await bot.repos.venues.require(venue.code)


async def test_myvenues_shows_a_card_with_the_owner_buttons(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    calls = await bot.send(OWNER, "/myvenues", language_code="en")
    card = next(c for c in calls if c.text and venue.code in c.text)
    assert "12 Hàng Bài" in card.text and "Phường Hoàn Kiếm, Thành phố Hà Nội" in card.text
    assert "You are the owner." in card.text
    assert buttons(card) == [
        ("🖨 Poster", f"ven:poster:{venue.code}"),
        ("📊 Today", f"ven:today:{venue.code}"),
        ("⚙️ Settings", f"ven:set:{venue.code}"),
        ("👥 Staff", f"ven:staff:{venue.code}"),
        ("⛔ Deactivate", f"ven:off:{venue.code}"),
    ]
    assert all(len(data.encode()) <= 64 for _, data in buttons(card))


async def test_staff_see_only_poster_and_today(bot: BotHarness) -> None:
    venue = await with_staff(bot, await make_venue(bot))
    calls = await bot.send(STAFF, "/myvenues", language_code="en")
    card = next(c for c in calls if c.text and venue.code in c.text)
    assert "You are staff." in card.text
    assert [label for label, _ in buttons(card)] == ["🖨 Poster", "📊 Today"]


async def test_myvenues_without_venues_points_to_newvenue(bot: BotHarness) -> None:
    said = texts(await bot.send(STRANGER, "/myvenues", language_code="en"))
    assert any("/newvenue" in t for t in said)


async def test_many_venues_are_listed_as_buttons_with_pages(bot: BotHarness) -> None:
    made = [await make_venue(bot, name=f"Cửa hàng số {n}") for n in range(10)]
    mine = await bot.repos.venues.for_member(OWNER)
    calls = await bot.send(OWNER, "/myvenues", language_code="en")
    assert any("Your venues (10)" in t and "page 1 of 2" in t for t in texts(calls))
    listed = [data for _, data in buttons(calls[-1]) if data.startswith("ven:card:")]
    assert listed == [f"ven:card:{venue.code}" for venue in mine[:8]]
    calls = await bot.press(OWNER, "venlist:1", language_code="en")
    listed = [data for _, data in buttons(calls[-1]) if data.startswith("ven:card:")]
    assert listed == [f"ven:card:{venue.code}" for venue in mine[8:]]
    calls = await bot.press(OWNER, f"ven:card:{made[9].code}", language_code="en")
    assert any("Cửa hàng số 9" in t for t in texts(calls))
    others = texts(await bot.press(STRANGER, "venlist:1", language_code="en"))
    assert not any("Cửa hàng" in t for t in others), "the list only ever shows the presser's venues"


async def test_poster_button_sends_photo_and_pdf(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    calls = await bot.press(OWNER, f"ven:poster:{venue.code}", language_code="en")
    methods = [c.method for c in calls]
    assert "sendPhoto" in methods and "sendDocument" in methods
    document = next(c for c in calls if c.method == "sendDocument")
    assert document.chat_id == OWNER


async def test_settings_panel_shows_the_defaults(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    calls = await bot.press(OWNER, f"ven:set:{venue.code}", language_code="en")
    panel = next(c for c in calls if c.method == "editMessageText")
    assert "Daily summary at 21:00" in panel.text
    assert "Automatic check-out after 120 minutes" in panel.text
    assert "Health declaration after check-in: off" in panel.text
    assert "Capacity: not set" in panel.text
    assert all(len(data.encode()) <= 64 for _, data in buttons(panel))


async def test_summary_hour_setting(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    calls = await bot.press(OWNER, f"ven:hours:{venue.code}", language_code="en")
    hours = [data for _, data in buttons(calls[-1]) if data.startswith("ven:hour:")]
    assert len(hours) == 24
    said = texts(await bot.press(OWNER, f"ven:hour:{venue.code}:07", language_code="en"))
    assert any("07:00" in t for t in said)
    assert (await reload(bot, venue)).settings.summary_hour == 7
    refused = texts(await bot.press(OWNER, f"ven:hour:{venue.code}:24", language_code="en"))
    assert any("expired" in t for t in refused)
    assert (await reload(bot, venue)).settings.summary_hour == 7


async def test_auto_checkout_setting_applies_to_new_visits(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    calls = await bot.press(OWNER, f"ven:autos:{venue.code}", language_code="en")
    choices = [data for _, data in buttons(calls[-1]) if data.startswith("ven:auto:")]
    assert f"ven:auto:{venue.code}:15" in choices and f"ven:auto:{venue.code}:1440" in choices
    said = texts(await bot.press(OWNER, f"ven:auto:{venue.code}:30", language_code="en"))
    assert any("30 minutes" in t for t in said)
    assert (await reload(bot, venue)).settings.auto_checkout_minutes == 30
    for bad in ("14", "1441", "abc"):
        await bot.press(OWNER, f"ven:auto:{venue.code}:{bad}", language_code="en")
    assert (await reload(bot, venue)).settings.auto_checkout_minutes == 30
    await bot.send(CITIZEN, f"/start {bot.link_payload(venue.code)}")
    visit = await bot.repos.db["visits"].find_one({"user_id": CITIZEN})
    assert visit["auto_checkout_at"] - visit["checkin_at"] == timedelta(minutes=30)


async def auto_checkout_of(bot: BotHarness, venue: Venue) -> int:
    return (await reload(bot, venue)).settings.auto_checkout_minutes


TYPED_MINUTES_REFUSED = [
    ("soon", "Please send a number of minutes"),
    ("45 min", "Please send a number of minutes"),
    ("+90", "Please send a number of minutes"),
    ("1_000", "Please send a number of minutes"),
    ("٩٠", "Please send a number of minutes"),
    ("9⁰", "Please send a number of minutes"),
    ("30.5", "without decimals"),
    ("45,5", "without decimals"),
    ("0", "between 15 and 1440 minutes"),
    ("-30", "between 15 and 1440 minutes"),
    ("14", "between 15 and 1440 minutes"),
    ("1441", "between 15 and 1440 minutes"),
    ("99999", "between 15 and 1440 minutes"),
    ("9" * 5000, "between 15 and 1440 minutes"),
]


async def test_other_auto_checkout_minutes_are_typed_and_validated(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    calls = await bot.press(OWNER, f"ven:autos:{venue.code}", language_code="en")
    assert ("✏️ Other value", f"ven:autoask:{venue.code}") in buttons(calls[-1])
    calls = await bot.press(OWNER, button_data(calls, "Other value"), language_code="en")
    prompt = next(c for c in calls if c.method == "editMessageText")
    assert "whole number from 15 to 1440" in prompt.text and "Now: 120 minutes" in prompt.text
    assert buttons(prompt) == [("« Back", f"ven:autos:{venue.code}")]

    for typed, reason in TYPED_MINUTES_REFUSED:
        said = texts(await bot.send(OWNER, typed, language_code="en"))
        assert len(said) == 1 and reason in said[0] and "again, or /cancel" in said[0], (typed, said)
        assert await auto_checkout_of(bot, venue) == 120, typed
    before = len(bot.api.calls)
    await bot.feed(factories.sticker_update(OWNER, language_code="en"))
    assert any("again, or /cancel" in t for t in texts(bot.api.calls[before:])), "a sticker is asked again"

    calls = await bot.send(OWNER, "  45 ", language_code="en")
    [reply] = texts(calls)
    assert "Visits now end by themselves after 45 minutes." in reply
    assert "Automatic check-out after 45 minutes" in reply, "the settings panel follows"
    assert ("⏱ Automatic check-out", f"ven:autos:{venue.code}") in buttons(calls[-1])
    assert await auto_checkout_of(bot, venue) == 45
    after = texts(await bot.send(OWNER, "60", language_code="en"))
    assert not any("60 minutes" in t for t in after), "the question is over"
    assert await auto_checkout_of(bot, venue) == 45

    await bot.send(CITIZEN, f"/start {bot.link_payload(venue.code)}")
    visit = await bot.repos.db["visits"].find_one({"user_id": CITIZEN})
    assert visit["auto_checkout_at"] - visit["checkin_at"] == timedelta(minutes=45)


async def test_typed_minutes_at_the_limits_are_accepted(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    for typed, minutes in (("15", 15), ("1440", 1440), ("0090", 90)):
        await bot.press(OWNER, f"ven:autoask:{venue.code}", language_code="en")
        said = texts(await bot.send(OWNER, typed, language_code="en"))
        assert any(f"after {minutes} minutes" in t for t in said)
        assert await auto_checkout_of(bot, venue) == minutes


async def test_typing_other_minutes_can_be_cancelled_or_left(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    await bot.press(OWNER, f"ven:autoask:{venue.code}", language_code="en")
    said = texts(await bot.send(OWNER, "/cancel", language_code="en"))
    assert any("Cancelled" in t for t in said)
    await bot.send(OWNER, "45", language_code="en")
    assert await auto_checkout_of(bot, venue) == 120
    assert await bot.repos.db["bot_conversations"].count_documents({}) == 0

    await bot.press(OWNER, f"ven:autoask:{venue.code}", language_code="en")
    said = texts(await bot.press(OWNER, f"ven:autos:{venue.code}", language_code="en"))
    assert any("How long do visitors usually stay" in t for t in said), "« Back shows the presets"
    await bot.send(OWNER, "45", language_code="en")
    assert await auto_checkout_of(bot, venue) == 120


async def test_a_restart_while_minutes_are_asked_for_loses_nothing(
    settings: Settings, repos: Repos, botapi: BotApiDouble, clock: ManualClock
) -> None:
    first = await BotHarness.start(settings, repos, botapi, clock)
    try:
        venue = await make_venue(first)
        await first.press(OWNER, f"ven:autoask:{venue.code}", language_code="en")
    finally:
        await first.stop()
    stored = await repos.db["bot_conversations"].find_one({"name": "owner"})
    assert stored is not None and stored["state"] == "edit_auto_checkout"
    assert (await repos.persistence.user_data(OWNER))["venue_edit"] == venue.code

    second = await BotHarness.start(settings, repos, botapi, clock)
    try:
        said = texts(await second.send(OWNER, "abc", language_code="en"))
        assert any("Please send a number of minutes" in t for t in said)
        said = texts(await second.send(OWNER, "75", language_code="en"))
        assert any("after 75 minutes" in t for t in said)
    finally:
        await second.stop()
    assert (await repos.venues.require(venue.code)).settings.auto_checkout_minutes == 75


async def test_staff_cannot_type_auto_checkout_minutes(bot: BotHarness) -> None:
    venue = await with_staff(bot, await make_venue(bot))
    said = texts(await bot.press(STAFF, f"ven:autoask:{venue.code}", language_code="en"))
    assert any("Only the venue's owner" in t for t in said)
    after = texts(await bot.send(STAFF, "45", language_code="en"))
    assert not any("45 minutes" in t for t in after)
    assert await auto_checkout_of(bot, venue) == 120


async def test_rights_are_checked_again_when_the_minutes_arrive(bot: BotHarness) -> None:
    venue = await with_staff(bot, await make_venue(bot))
    await bot.press(OWNER, f"ven:autoask:{venue.code}", language_code="en")
    # Meanwhile the venue changed hands (an operator's fix in the database); the old owner is staff now.
    await bot.repos.db["venues"].update_one(
        {"_id": venue.code}, {"$set": {"owner_id": STRANGER, "staff_ids": [OWNER]}}
    )
    said = texts(await bot.send(OWNER, "45", language_code="en"))
    assert any("Only the venue's owner" in t for t in said)
    assert await auto_checkout_of(bot, venue) == 120
    again = texts(await bot.send(OWNER, "50", language_code="en"))
    assert not any("Only the venue's owner" in t or "50 minutes" in t for t in again), "no longer asked"
    assert await auto_checkout_of(bot, venue) == 120


@pytest.mark.parametrize(("typed", "minutes"), [("15", 15), (" 1440\n", 1440), ("0090", 90)])
def test_parse_auto_checkout_accepts_whole_minutes_in_range(typed: str, minutes: int) -> None:
    assert parse_auto_checkout(typed) == minutes


@pytest.mark.parametrize(
    "typed", [typed for typed, _reason in TYPED_MINUTES_REFUSED] + ["", "   ", "½", "1e3"]
)
def test_parse_auto_checkout_refuses_everything_else(typed: str) -> None:
    with pytest.raises(InvalidInput):
        parse_auto_checkout(typed)


async def test_health_declaration_setting_turns_the_questions_on_and_off(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    await bot.press(OWNER, f"ven:health:{venue.code}:1", language_code="en")
    assert (await reload(bot, venue)).settings.health_declaration
    said = texts(await bot.send(CITIZEN, f"/start {bot.link_payload(venue.code)}", language_code="en"))
    assert any("1/3" in t for t in said), "citizens are asked after check-in"
    calls = await bot.press(OWNER, f"ven:health:{venue.code}:0", language_code="en")
    assert ("🩺 Turn health declaration on", f"ven:health:{venue.code}:1") in buttons(calls[-1])
    assert not (await reload(bot, venue)).settings.health_declaration
    said = texts(await bot.send(CITIZEN + 1, f"/start {bot.link_payload(venue.code)}", language_code="en"))
    assert not any("1/3" in t for t in said)


async def test_mute_setting(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    calls = await bot.press(OWNER, f"ven:mute:{venue.code}:1", language_code="en")
    assert (await reload(bot, venue)).settings.summaries_muted
    assert any("(muted)" in t for t in texts(calls))
    await bot.press(OWNER, f"ven:mute:{venue.code}:0", language_code="en")
    assert not (await reload(bot, venue)).settings.summaries_muted


async def test_capacity_is_typed_validated_and_can_be_removed(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    said = texts(await bot.press(OWNER, f"ven:cap:{venue.code}", language_code="en"))
    assert any("Send a number" in t for t in said)
    said = texts(await bot.send(OWNER, "lots", language_code="en"))
    assert any("whole number" in t for t in said)
    said = texts(await bot.send(OWNER, "0", language_code="en"))
    assert any("between 1 and 100000" in t for t in said)
    assert (await reload(bot, venue)).capacity is None
    said = texts(await bot.send(OWNER, "25", language_code="en"))
    assert any("Capacity: 25 people" in t for t in said)
    assert (await reload(bot, venue)).capacity == 25
    after = texts(await bot.send(OWNER, "30", language_code="en"))
    assert not any("Capacity: 30" in t for t in after), "the question is over"
    assert (await reload(bot, venue)).capacity == 25

    await bot.press(OWNER, f"ven:cap:{venue.code}", language_code="en")
    said = texts(await bot.press(OWNER, f"ven:capnone:{venue.code}", language_code="en"))
    assert any("no full-house alert" in t for t in said)
    assert (await reload(bot, venue)).capacity is None
    after = texts(await bot.send(OWNER, "30", language_code="en"))
    assert not any("Capacity" in t for t in after)
    assert (await reload(bot, venue)).capacity is None


async def test_capacity_question_can_be_cancelled(bot: BotHarness) -> None:
    venue = await make_venue(bot, capacity=12)
    await bot.press(OWNER, f"ven:cap:{venue.code}", language_code="en")
    said = texts(await bot.send(OWNER, "/cancel", language_code="en"))
    assert any("Cancelled" in t for t in said)
    await bot.send(OWNER, "99", language_code="en")
    assert (await reload(bot, venue)).capacity == 12


async def test_deactivate_and_reactivate(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    ward = venue.region_id
    calls = await bot.press(OWNER, f"ven:off:{venue.code}", language_code="en")
    assert any("Deactivate" in t and "Nothing is deleted" in t for t in texts(calls))
    assert (await reload(bot, venue)).active, "asking is not doing"
    await bot.press(OWNER, button_data(calls, "No, keep it"), language_code="en")
    assert (await reload(bot, venue)).active

    calls = await bot.press(OWNER, f"ven:offyes:{venue.code}", language_code="en")
    assert not (await reload(bot, venue)).active
    assert ("✅ Reactivate", f"ven:on:{venue.code}") in buttons(calls[-1])
    scan = texts(await bot.send(CITIZEN, f"/start {bot.link_payload(venue.code)}", language_code="en"))
    assert any("no longer uses QuetMa check-in" in t for t in scan)
    assert await bot.repos.db["visits"].count_documents({}) == 0
    poster = texts(await bot.press(OWNER, f"ven:poster:{venue.code}", language_code="en"))
    assert any("reactivate it" in t for t in poster)
    await bot.press(OWNER, f"ven:offyes:{venue.code}", language_code="en")  # a second press counts nothing
    days = await bot.repos.stats.region_days(ward, DAY, DAY)
    assert days[DAY].venues_closed == 1

    await bot.press(OWNER, f"ven:on:{venue.code}", language_code="en")
    assert (await reload(bot, venue)).active
    scan = texts(await bot.send(CITIZEN, f"/start {bot.link_payload(venue.code)}", language_code="en"))
    assert any("Checked in at" in t for t in scan)
    days = await bot.repos.stats.region_days(ward, DAY, DAY)
    assert (days[DAY].venues_closed, days[DAY].venues_reopened) == (1, 1)
    assert await bot.repos.stats.venues_active_now(ward) == 1
    assert await bot.repos.venues.get(venue.code) is not None, "nothing was deleted"


VIEW = ["card", "poster", "today"]
MANAGE = [
    "set",
    "hours",
    "hour:07",
    "autos",
    "auto:30",
    "autoask",
    "health:1",
    "mute:1",
    "capnone",
    "staff",
    "invite",
    "revoke",
    f"unstaff:{STAFF}",
    "off",
    "offyes",
    "on",
    "cap",
]


async def snapshot(bot: BotHarness) -> list[dict]:
    venues = await bot.repos.db["venues"].find({}, sort=[("_id", 1)]).to_list()
    invites = await bot.repos.db["invites"].find({}).to_list()
    return [*venues, *invites]


@pytest.mark.parametrize("action", VIEW + MANAGE)
async def test_a_stranger_pressing_another_venues_button_is_refused(bot: BotHarness, action: str) -> None:
    venue = await with_staff(bot, await make_venue(bot, capacity=10))
    await bot.send(STRANGER, "/help", language_code="en")  # past the first-contact notice
    before = await snapshot(bot)
    head, _, argument = action.partition(":")
    calls = await bot.press(STRANGER, venue_data(head, venue.code, argument or None), language_code="en")
    assert any("not your venue" in t for t in texts(calls))
    assert [c.method for c in calls] == ["answerCallbackQuery"], "nothing shown, nothing sent"
    assert await snapshot(bot) == before


@pytest.mark.parametrize("action", MANAGE)
async def test_staff_cannot_change_settings_or_staff(bot: BotHarness, action: str) -> None:
    venue = await with_staff(bot, await make_venue(bot, capacity=10))
    await bot.send(STAFF, "/help", language_code="en")  # past the first-contact notice
    before = await snapshot(bot)
    head, _, argument = action.partition(":")
    data = venue_data(head, venue.code, argument or None)
    calls = await bot.press(STAFF, data, language_code="en")
    assert any("Only the venue's owner" in t for t in texts(calls))
    assert [c.method for c in calls] == ["answerCallbackQuery"]
    assert await snapshot(bot) == before
    after = texts(await bot.send(STAFF, "45", language_code="en"))
    assert not any("Capacity" in t for t in after), "a refused capacity press starts no question"


async def test_staff_may_view_poster_and_today(bot: BotHarness) -> None:
    venue = await with_staff(bot, await make_venue(bot))
    poster = await bot.press(STAFF, f"ven:poster:{venue.code}", language_code="en")
    assert {"sendPhoto", "sendDocument"} <= {c.method for c in poster}
    today = texts(await bot.press(STAFF, f"ven:today:{venue.code}", language_code="en"))
    assert any(venue.name in t and "Check-ins: 0" in t for t in today)


@pytest.mark.parametrize(
    "data",
    [
        "ven:set",
        "ven:set:",
        "ven:set:lowercase",
        "ven:set:ABCDEFGH:1:2",
        "ven:frobnicate:ABCDEFGH",
        "ven:hour:ABCDEFGH:07",  # a well-formed code of no venue
        "ven:",
    ],
)
async def test_forged_or_malformed_button_data_changes_nothing(bot: BotHarness, data: str) -> None:
    await make_venue(bot)
    before = await snapshot(bot)
    said = texts(await bot.press(OWNER, data, language_code="en"))
    assert any("expired" in t or "not your venue" in t for t in said)
    assert await snapshot(bot) == before


async def test_an_owner_cannot_reach_a_neighbours_venue_by_editing_the_code(bot: BotHarness) -> None:
    mine = await make_venue(bot, name="Của tôi")
    theirs = await make_venue(bot, name="Của hàng xóm", owner=STRANGER)
    before = await snapshot(bot)
    forged = venue_data("offyes", theirs.code)
    said = texts(await bot.press(OWNER, forged, language_code="en"))
    assert any("not your venue" in t for t in said)
    assert await snapshot(bot) == before
    assert (await reload(bot, theirs)).active and (await reload(bot, mine)).active


def test_callback_data_round_trips_and_fits_telegram() -> None:
    data = venue_data("unstaff", "K7Q2XH4M", 9_999_999_999)
    assert len(data.encode()) <= 64
    parsed = parse_venue_data(data)
    assert parsed is not None and (parsed.action, parsed.code, parsed.argument) == (
        "unstaff",
        "K7Q2XH4M",
        "9999999999",
    )
    assert parsed.manages
    assert parse_venue_data("ven:poster:K7Q2XH4M") is not None
    assert not parse_venue_data("ven:poster:K7Q2XH4M").manages  # type: ignore[union-attr]


async def test_capacity_takes_a_unit_and_refuses_lenient_digits(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    await bot.press(OWNER, f"ven:cap:{venue.code}", language_code="vi")
    for lenient in ("1_000", "+40", "٤٠", "4²"):
        said = texts(await bot.send(OWNER, lenient, language_code="vi"))
        assert len(said) == 1 and "/cancel" in said[0], (lenient, said)
        assert (await reload(bot, venue)).capacity is None, lenient
    said = texts(await bot.send(OWNER, "30 người", language_code="vi"))
    assert (await reload(bot, venue)).capacity == 30
    assert any("30 người" in t for t in said)


@pytest.mark.parametrize("page", ["²", "١", "+1", "99999999999999999999999"])
async def test_a_forged_list_page_is_an_expired_button(bot: BotHarness, page: str) -> None:
    for n in range(4):
        await make_venue(bot, name=f"Quán {n}")
    await bot.send(OWNER, "/myvenues", language_code="en")
    said = texts(await bot.press(OWNER, f"venlist:{page}", language_code="en"))
    assert said == ["This button has expired."]
