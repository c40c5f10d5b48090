"""Citizen stories: scan, confirm, check out, party size, history, forget, language, bad input."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.app.settings import Settings
from bot.clock import ManualClock
from bot.payload import PayloadKind, sign_payload
from bot.venues import venue_request
from storage.database import Repos
from storage.models import Venue, VenueSettings
from tests.botapi import BotApiDouble
from tests.harness import BotHarness, button_data, buttons, texts

CITIZEN = 5001
OWNER = 5100
OTHER = 5002


async def make_venue(bot: BotHarness, name: str = "Phòng khám Đức Thành", ward: str = "Ba Đình") -> Venue:
    regions = bot.container.regions
    hanoi = regions.match_province("Hà Nội")
    request = venue_request(
        name=name, address="237 Âu Cơ", region=regions.match_ward(hanoi.id, ward), category="clinic"
    )
    return await bot.container.venues.register(request)


async def scan(bot: BotHarness, user: int, venue: Venue, **kwargs: object) -> list:
    return await bot.send(user, f"/start {bot.link_payload(venue.code)}", **kwargs)


async def visit_count(bot: BotHarness) -> int:
    return await bot.repos.db["visits"].count_documents({})


async def test_scanning_a_poster_records_the_visit_and_confirms(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    calls = await scan(bot, CITIZEN, venue)
    said = texts(calls)
    assert any("QuetMa" in t and "/forget" in t for t in said), "privacy notice on first contact"
    confirmation = next(c for c in calls if c.text and venue.name in c.text)
    assert "237 Âu Cơ" in confirmation.text
    assert "09:00" in confirmation.text  # local time of the scan
    labels = [label for label, _ in buttons(confirmation)]
    assert labels == ["Check-out", "+1 người", "Lượt của tôi"]
    visits = await bot.repos.db["visits"].find({}).to_list()
    assert len(visits) == 1
    assert visits[0]["user_id"] == CITIZEN and visits[0]["venue_code"] == venue.code
    assert visits[0]["day"] == "2026-11-19" and visits[0]["party"] == 1
    day = await bot.repos.checkins.venue_day(venue.code, "2026-11-19")
    assert (day.checkins, day.visitors, day.people, day.hours) == (1, 1, 1, {9: 1})


async def test_vietnamese_by_default_english_for_english_clients(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    vi = texts(await scan(bot, CITIZEN, venue, language_code="vi"))
    en = texts(await scan(bot, OTHER, venue, language_code="en-GB"))
    assert any("Đã check-in tại" in t for t in vi)
    assert any("Checked in at" in t for t in en)


async def test_privacy_notice_only_on_first_contact(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    await scan(bot, CITIZEN, venue)
    bot.clock.advance(timedelta(hours=2))
    second = texts(await scan(bot, CITIZEN, venue))
    assert not any("/forget" in t for t in second)


@pytest.mark.parametrize(
    "payload",
    [
        "c-ABCDEFGH-AAAAAAAAAAAAAAAA",  # forged signature
        "garbage",
        "c-ABCDEFGH",  # truncated
        "c-ABCDEFGH-" + "x" * 60,  # too long
        "c-ABC$DEF-AAAAAAAAAAAAAAAA",  # bad characters
    ],
)
async def test_bad_payloads_are_refused_and_write_nothing(bot: BotHarness, payload: str) -> None:
    venue = await make_venue(bot)
    calls = await bot.send(CITIZEN, f"/start {payload}")
    assert any("không hợp lệ" in t for t in texts(calls))
    assert await visit_count(bot) == 0
    day = await bot.repos.checkins.venue_day(venue.code, "2026-11-19")
    assert day.checkins == 0


async def test_an_altered_payload_of_a_real_venue_is_refused(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    good = bot.link_payload(venue.code)
    other_code = "ABCDEFGH" if venue.code != "ABCDEFGH" else "HGFEDCBA"
    altered = good.replace(venue.code, other_code)
    calls = await bot.send(CITIZEN, f"/start {altered}")
    assert any("không hợp lệ" in t for t in texts(calls))
    assert await visit_count(bot) == 0


async def test_signed_link_of_unknown_venue_and_other_kinds(bot: BotHarness) -> None:
    unknown = sign_payload(bot.container.signer.secret, PayloadKind.CHECKIN, "ZZZZZZZZ")
    said = texts(await bot.send(CITIZEN, f"/start {unknown}"))
    assert any("không thuộc" in t for t in said)
    assert await visit_count(bot) == 0


async def test_deactivated_venue_refuses_scans(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    await bot.repos.venues.set_active(venue.code, False, day="2026-11-19")
    said = texts(await scan(bot, CITIZEN, venue))
    assert any("không còn dùng" in t for t in said)
    assert await visit_count(bot) == 0


async def test_rescan_within_30_minutes_continues_the_visit(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    await scan(bot, CITIZEN, venue)
    bot.clock.advance(timedelta(minutes=29))
    said = texts(await scan(bot, CITIZEN, venue))
    assert any("tiếp tục" in t for t in said)
    assert await visit_count(bot) == 1
    assert (await bot.repos.checkins.venue_day(venue.code, "2026-11-19")).checkins == 1
    bot.clock.advance(timedelta(minutes=31))
    await scan(bot, CITIZEN, venue)
    assert await visit_count(bot) == 2
    day = await bot.repos.checkins.venue_day(venue.code, "2026-11-19")
    assert (day.checkins, day.visitors) == (2, 1)


async def test_a_scan_elsewhere_ends_the_previous_visit(bot: BotHarness) -> None:
    first = await make_venue(bot, "Chợ Đồng Xuân")
    second = await make_venue(bot, "Hiệu thuốc Tâm An")
    await scan(bot, CITIZEN, first)
    bot.clock.advance(timedelta(minutes=20))
    await scan(bot, CITIZEN, second)
    left = await bot.repos.db["visits"].find_one({"venue_code": first.code})
    assert left["checkout_at"] == bot.clock.now(), "ended at the moment of the new scan"
    assert [v.venue_code for v in await bot.repos.checkins.open_visits(CITIZEN, bot.clock.now())] == [
        second.code
    ]
    said = texts(await bot.send(CITIZEN, "/checkout"))
    assert any("Hiệu thuốc Tâm An" in t for t in said)
    again = texts(await bot.send(CITIZEN, "/checkout"))
    assert any("chưa check-in" in t for t in again), "one /checkout is enough"


async def test_a_scan_after_checking_out_never_says_still_checked_in(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    await scan(bot, CITIZEN, venue)
    await bot.send(CITIZEN, "/checkout")
    bot.clock.advance(timedelta(minutes=5))
    said = texts(await scan(bot, CITIZEN, venue))
    assert not any("vẫn đang check-in" in t for t in said)
    assert any("quay lại" in t and venue.name in t for t in said)
    assert len(await bot.repos.checkins.open_visits(CITIZEN, bot.clock.now())) == 1


async def test_check_out_button_and_command(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    calls = await scan(bot, CITIZEN, venue, language_code="en")
    checkout = button_data(calls, "Check out")
    stranger = texts(await bot.press(OTHER, checkout))
    assert any("already ended" in t or "kết thúc" in t for t in stranger), "another user can't check me out"
    assert (await bot.repos.db["visits"].find_one({}))["checkout_at"] is None
    bot.clock.advance(timedelta(minutes=40))
    said = texts(await bot.press(CITIZEN, checkout, language_code="en"))
    assert any("Checked out of" in t and "09:40" in t for t in said)
    stored = await bot.repos.db["visits"].find_one({})
    assert stored["checkout_at"] == bot.clock.now()
    again = texts(await bot.send(CITIZEN, "/checkout", language_code="en"))
    assert any("not checked in" in t for t in again)


async def test_checkout_command_closes_the_open_visit(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    await scan(bot, CITIZEN, venue)
    said = texts(await bot.send(CITIZEN, "/checkout"))
    assert any(venue.name in t for t in said)
    assert (await bot.repos.db["visits"].find_one({}))["checkout_at"] is not None


async def test_visit_ends_by_itself_after_auto_checkout(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    await scan(bot, CITIZEN, venue)
    bot.clock.advance(timedelta(minutes=121))
    said = texts(await bot.send(CITIZEN, "/checkout"))
    assert any("chưa check-in" in t for t in said)


async def test_a_plus_one_pressed_by_mistake_can_be_taken_back(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    calls = await scan(bot, CITIZEN, venue)
    assert not any("−1" in label for label, _ in buttons(calls[-1])), "nothing to take back yet"
    calls = await bot.press(CITIZEN, button_data(calls, "+1"))
    calls = await bot.press(CITIZEN, button_data(calls, "+1"))
    minus = button_data(calls, "−1")
    assert minus.startswith("v:minus:")
    await bot.press(OTHER, minus)  # someone else's visit: nothing changes
    assert (await bot.repos.db["visits"].find_one({}))["party"] == 3
    calls = await bot.press(CITIZEN, minus)
    assert (await bot.repos.db["visits"].find_one({}))["party"] == 2
    assert (await bot.repos.checkins.venue_day(venue.code, bot.today().isoformat())).people == 2
    await bot.press(CITIZEN, minus)
    said = texts(await bot.press(CITIZEN, minus))
    assert any("Không có gì để bớt" in t for t in said), "never below the person who scanned"
    assert (await bot.repos.db["visits"].find_one({}))["party"] == 1
    assert (await bot.repos.checkins.venue_day(venue.code, bot.today().isoformat())).people == 1


async def test_plus_one_counts_people_up_to_ten(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    calls = await scan(bot, CITIZEN, venue)
    plus = button_data(calls, "+1")
    for _ in range(9):
        await bot.press(CITIZEN, plus)
    refused = texts(await bot.press(CITIZEN, plus))
    assert any("10" in t for t in refused)
    visit = await bot.repos.db["visits"].find_one({})
    assert visit["party"] == 10
    assert (await bot.repos.checkins.venue_day(venue.code, "2026-11-19")).people == 10
    await bot.press(OTHER, plus)
    assert (await bot.repos.db["visits"].find_one({}))["party"] == 10


async def test_checkin_by_typed_code(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    typed = venue.code.lower()[:4] + " " + venue.code.lower()[4:]
    said = texts(await bot.send(CITIZEN, f"/checkin {typed}"))
    assert any(venue.name in t for t in said)
    assert await visit_count(bot) == 1
    bad = texts(await bot.send(OTHER, "/checkin 12"))
    assert any("/checkin" in t for t in bad)
    unknown = texts(await bot.send(OTHER, "/checkin ZZZZZZZZ"))
    assert any("Không có địa điểm QuetMa nào có mã ZZZZZZZZ" in t for t in unknown), "a typed code, not a QR"
    assert await visit_count(bot) == 1


async def test_just_the_code_typed_on_its_own_checks_in(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    said = texts(await bot.send(CITIZEN, venue.code))
    assert any(venue.name in t and "✅" in t for t in said)
    said = texts(await bot.send(OTHER, f"  {venue.code[:4].lower()}-{venue.code[4:].lower()} "))
    assert any(venue.name in t and "✅" in t for t in said)
    assert await visit_count(bot) == 2
    unknown = texts(await bot.send(OTHER, "ZZZZZZZZ"))
    assert any("ZZZZZZZZ" in t for t in unknown)
    chatter = texts(await bot.send(OTHER, "xin chào"))
    assert any("/checkin" in t for t in chatter), "other text still gets the friendly how-to"
    assert await visit_count(bot) == 2


async def test_a_code_shaped_answer_inside_a_conversation_is_an_answer(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    await bot.send(OWNER, "/newvenue", language_code="en")
    said = texts(await bot.send(OWNER, venue.code, language_code="en"))
    assert any("2/6" in t for t in said), "the venue's name, not a check-in"
    assert await visit_count(bot) == 0


async def test_history_lists_the_last_14_days_in_local_time(bot: BotHarness) -> None:
    first = await make_venue(bot, "Chợ Đồng Xuân")
    second = await make_venue(bot, "Hiệu thuốc Tâm An")
    await scan(bot, CITIZEN, first)
    bot.clock.advance(timedelta(days=1, hours=2))
    await scan(bot, CITIZEN, second)
    said = texts(await bot.send(CITIZEN, "/history"))
    listing = next(t for t in said if "Chợ Đồng Xuân" in t)
    assert "19/11 09:00–11:00 Chợ Đồng Xuân" in listing
    assert "20/11 từ 11:00, vẫn đang check-in · Hiệu thuốc Tâm An" in listing
    assert listing.index("Hiệu thuốc Tâm An") < listing.index("Chợ Đồng Xuân")
    bot.clock.advance(timedelta(days=14))
    later = texts(await bot.send(CITIZEN, "/history"))
    assert not any("Chợ Đồng Xuân" in t for t in later)


async def test_history_shows_a_visit_in_progress_without_a_made_up_end(bot: BotHarness) -> None:
    venue = await make_venue(bot, "Chợ Đồng Xuân")
    await scan(bot, CITIZEN, venue, language_code="en")
    bot.clock.advance(timedelta(minutes=10))
    listing = "\n".join(texts(await bot.send(CITIZEN, "/history", language_code="en")))
    assert "19/11 since 09:00, still checked in · Chợ Đồng Xuân" in listing
    assert "11:00" not in listing, "the automatic check-out time is not an end yet"
    await bot.send(CITIZEN, "/checkout")
    listing = "\n".join(texts(await bot.send(CITIZEN, "/history", language_code="en")))
    assert "19/11 09:00–09:10 Chợ Đồng Xuân" in listing and "still checked in" not in listing


async def test_a_forged_health_answer_for_someone_elses_visit_is_refused(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    await bot.repos.venues.update_settings(venue.code, VenueSettings(health_declaration=True))
    calls = await scan(bot, CITIZEN, venue)
    visit_id = button_data(calls, "Có").split(":")[1]
    said = texts(await bot.press(OTHER, f"h:{visit_id}:nnn"))
    assert not any("đã được ghi nhận" in t for t in said)
    assert any("hết hạn" in t for t in said)
    stored = await bot.repos.checkins.get(visit_id)
    assert stored is not None and stored.health is None and not stored.health_skipped
    assert (await bot.repos.checkins.venue_day(venue.code, "2026-11-19")).declaration_answered == 0
    said = texts(await bot.press(CITIZEN, f"h:{visit_id}:nnn"))
    assert any("Cảm ơn" in t for t in said), "the visitor's own answer is still taken"


async def test_forget_deletes_personal_data_but_keeps_counts(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    await scan(bot, CITIZEN, venue)
    await scan(bot, OTHER, venue)
    calls = await bot.send(CITIZEN, "/forget")
    assert any("Không" in label for label, _ in buttons(calls[-1]))
    await bot.press(CITIZEN, "v:forget:no")
    assert await visit_count(bot) == 2
    said = texts(await bot.press(CITIZEN, "v:forget:yes"))
    assert any("1" in t for t in said)
    assert await bot.repos.db["visits"].count_documents({"user_id": CITIZEN}) == 0
    assert await bot.repos.db["visits"].count_documents({"user_id": OTHER}) == 1
    assert await bot.repos.users.get(CITIZEN) is None
    assert await bot.repos.db["visitor_days"].count_documents({"user_id": CITIZEN}) == 0
    assert (await bot.repos.checkins.venue_day(venue.code, "2026-11-19")).checkins == 2


async def test_language_switch_is_remembered(bot: BotHarness) -> None:
    await bot.send(CITIZEN, "/help")
    calls = await bot.send(CITIZEN, "/language")
    assert ("🇬🇧 English", "lang:en") in buttons(calls[-1])
    await bot.press(CITIZEN, "lang:en")
    assert (await bot.repos.users.get(CITIZEN)).language == "en"
    bot.app.drop_user_data(CITIZEN)  # a restart forgets the cache; the profile remembers
    said = texts(await bot.send(CITIZEN, "/help"))
    assert any("Scan the QR poster" in t for t in said)


@pytest.mark.parametrize("kind", ["text", "sticker", "photo", "unknown_command", "plain_start"])
async def test_stray_input_gets_a_friendly_reply_and_writes_nothing(bot: BotHarness, kind: str) -> None:
    from tests import factories

    await make_venue(bot)
    update = {
        "text": factories.message_update(CITIZEN, "xin chào, tôi muốn check in"),
        "sticker": factories.sticker_update(CITIZEN),
        "photo": factories.photo_update(CITIZEN),
        "unknown_command": factories.message_update(CITIZEN, "/frobnicate now"),
        "plain_start": factories.message_update(CITIZEN, "/start"),
    }[kind]
    before = len(bot.api.calls)
    await bot.feed(update)
    said = texts(bot.api.calls[before:])
    assert said, "the bot answers"
    assert any("QR" in t or "/help" in t for t in said)
    assert await visit_count(bot) == 0


async def test_a_failing_handler_apologises_without_a_traceback(
    settings: Settings, repos: Repos, botapi: BotApiDouble, clock: ManualClock
) -> None:
    async def broken(*_: object) -> None:
        raise RuntimeError("simulated failure")

    bot = await BotHarness.start(settings, repos, botapi, clock, checkin_effects=[broken])
    try:
        venue = await make_venue(bot)
        said = texts(await scan(bot, CITIZEN, venue))
    finally:
        await bot.stop()
    assert any("thử lại" in t for t in said)
    assert not any("Traceback" in t or "simulated" in t for t in said)


async def test_command_menu_registered_in_both_languages(bot: BotHarness) -> None:
    calls = bot.api.calls_of("setMyCommands")
    languages = {call.params.get("language_code") for call in calls}
    assert languages == {None, "en"}
    vi = next(c for c in calls if c.params.get("language_code") is None)
    names = [command["command"] for command in vi.params["commands"]]
    assert {"checkin", "checkout", "history", "forget", "language", "help"} <= set(names)


async def test_unique_visitors_count_once_per_region_and_day(bot: BotHarness) -> None:
    a = await make_venue(bot, "Quán A", ward="Ba Đình")
    b = await make_venue(bot, "Quán B", ward="Hoàn Kiếm")
    await scan(bot, CITIZEN, a)
    bot.clock.advance(timedelta(hours=1))
    await scan(bot, CITIZEN, b)
    await scan(bot, OTHER, b)
    hanoi = bot.container.regions.match_province("Hà Nội").id
    days = await bot.repos.stats.region_days(hanoi, "2026-11-19", "2026-11-19")
    figures = days["2026-11-19"]
    assert (figures.checkins, figures.visitors, figures.venues_with_checkins) == (3, 2, 2)
    ward_b = b.region_id
    ward_days = await bot.repos.stats.region_days(ward_b, "2026-11-19", "2026-11-19")
    assert (ward_days["2026-11-19"].checkins, ward_days["2026-11-19"].visitors) == (2, 2)


async def test_concurrent_check_ins_of_one_person_count_one_visitor(bot: BotHarness) -> None:
    """Two instances recording the same person at once still count them once per region."""
    venues = [await make_venue(bot, f"Quầy {i}", ward="Ba Đình") for i in range(4)]
    now = bot.clock.now()
    await asyncio.gather(*(bot.repos.checkins.record_visit(venue, CITIZEN, now) for venue in venues))
    days = await bot.repos.stats.region_days(venues[0].region_id, "2026-11-19", "2026-11-19")
    figures = days["2026-11-19"]
    assert (figures.checkins, figures.visitors, figures.venues_with_checkins) == (4, 1, 4)
    for venue in venues:
        day = await bot.repos.checkins.venue_day(venue.code, "2026-11-19")
        assert (day.checkins, day.visitors) == (1, 1)
    mark = await bot.repos.db["visitor_days"].find_one({"_id": f"2026-11-19|{CITIZEN}"})
    assert len(mark["scopes"]) == len(set(mark["scopes"])) == 3 + 4


async def test_a_visitor_mark_expires_when_its_day_ends_and_the_visit_stays(bot: BotHarness) -> None:
    """The once-per-day mark serves only its own day; the visit itself is kept for the retention period."""
    venue = await make_venue(bot, "Quầy thuốc Hòa")
    recorded = await bot.repos.checkins.record_visit(venue, CITIZEN, bot.clock.now())
    mark = await bot.repos.db["visitor_days"].find_one({"_id": f"2026-11-19|{CITIZEN}"})
    assert mark is not None
    assert mark["expires_at"] == datetime(2026, 11, 20, 0, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    visit = await bot.repos.db["visits"].find_one({"user_id": CITIZEN})
    assert visit is not None and visit["expires_at"] == recorded.checkin_at + timedelta(days=21)


async def test_english_counts_say_one_check_in_not_one_check_ins(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    await scan(bot, CITIZEN, venue, language_code="en")
    await bot.send(CITIZEN, "/forget", language_code="en")
    said = texts(await bot.press(CITIZEN, "v:forget:yes", language_code="en"))
    assert "Done: 1 check-in and your profile were deleted." in said
