"""Officials' stories through the Bot API double: invites, reports, subscriptions, inactive venues, tracing, alerts."""

from __future__ import annotations

import csv
import io
import logging
from datetime import timedelta

import pytest
from telegram import BotCommandScopeChat, BotCommandScopeDefault

from bot import officials
from bot.app.delivery import drain_outbox
from bot.app.settings import Settings
from bot.clock import ManualClock
from bot.payload import PayloadKind
from bot.regions import fold
from bot.venues import venue_request
from storage.database import Repos
from storage.invites import InviteKind
from storage.models import HealthAnswers, Venue
from tests import factories
from tests.botapi import ApiCall, BotApiDouble
from tests.harness import TEST_TOKEN, BotHarness, button_data, buttons, texts

ADMIN = 900001  # QUETMA_ADMINS in the test settings
OFFICIAL = 6001
WARD_OFFICIAL = 6002
ENGLISH_OFFICIAL = 6003
CITIZEN, OTHER, THIRD, FORGETFUL = 5001, 5002, 5003, 5004
OWNER = 5100

NOT_OFFICIAL = "Lệnh này dành cho cán bộ y tế"
NOT_ADMIN = "Chỉ quản trị viên"
OUTSIDE = "nằm ngoài địa bàn của bạn"


async def make_venue(
    bot: BotHarness, name: str, ward: str = "Ba Đình", province: str = "Hà Nội", owner: int | None = None
) -> Venue:
    regions = bot.container.regions
    city = regions.match_province(province)
    request = venue_request(
        name=name,
        address="12 Phố Huế",
        region=regions.match_ward(city.id, ward),
        category="food",
        owner_id=owner,
    )
    return await bot.container.venues.register(request)


async def scan(bot: BotHarness, user: int, venue: Venue, **kwargs: object) -> list[ApiCall]:
    return await bot.send(user, f"/start {bot.link_payload(venue.code)}", **kwargs)


async def invite_payload(bot: BotHarness, region: str, ttl: timedelta = timedelta(hours=72)) -> str:
    found = bot.container.regions.resolve(region)
    invite = await bot.container.create_invite(InviteKind.OFFICIAL, found.id, officials.CLI_ACTOR, ttl)
    link = bot.links.to(PayloadKind.OFFICIAL_INVITE, invite.token)
    assert link.startswith("https://t.me/quetma_test_bot?start=o-")
    return link.split("start=", 1)[1]


async def become_official(bot: BotHarness, user: int, region: str, **kwargs: object) -> list[ApiCall]:
    return await bot.send(user, f"/start {await invite_payload(bot, region)}", first_name="Lan", **kwargs)


def documents(calls: list[ApiCall]) -> list[tuple[str, bytes, str]]:
    """(file name, bytes, caption) of every document the bot sent."""
    found = []
    for call in calls:
        if call.method == "sendDocument":
            name, content = call.files["document"]
            found.append((name, content, str(call.params.get("caption", ""))))
    return found


def csv_rows(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf"), "UTF-8 with a byte-order mark for spreadsheets"
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


async def audit_actions(bot: BotHarness) -> list[str]:
    return [entry.action for entry in reversed(await bot.repos.audit.since())]


# ---- Invites -------------------------------------------------------------------------------------------


async def test_admin_invites_in_chat_and_the_link_works_once(bot: BotHarness) -> None:
    calls = await bot.send(ADMIN, "/invite Hà Nội 24h", language_code="en")
    reply = texts(calls)[-1]
    assert "One-time invite for an official of Thành phố Hà Nội" in reply
    payload = reply.split("start=", 1)[1].strip()
    joined = texts(await bot.send(OFFICIAL, f"/start {payload}", first_name="Lan", language_code="en"))
    assert any("You are now a public-health official for Thành phố Hà Nội" in t for t in joined)
    official = await bot.repos.officials.get(OFFICIAL)
    assert official is not None and official.region == "vn/1" and official.name == "Lan"
    menus = [
        c for c in bot.api.calls_of("setMyCommands") if c.params.get("scope", {}).get("chat_id") == OFFICIAL
    ]
    assert {c.params.get("language_code") for c in menus} == {None, "en"}
    assert "trace" in [command["command"] for command in menus[0].params["commands"]]

    reused = texts(await bot.send(OTHER, f"/start {payload}", language_code="en"))
    assert any("already used" in t for t in reused)
    assert await bot.repos.officials.get(OTHER) is None
    assert await audit_actions(bot) == ["invite", "join"]
    joined_entry = (await bot.repos.audit.since())[0]
    assert (joined_entry.actor_id, joined_entry.actor_name, joined_entry.region) == (OFFICIAL, "Lan", "vn/1")


async def test_an_expired_invite_is_refused(bot: BotHarness) -> None:
    payload = await invite_payload(bot, "Hà Nội", ttl=timedelta(hours=1))
    bot.clock.advance(timedelta(hours=1, minutes=1))
    said = texts(await bot.send(OFFICIAL, f"/start {payload}"))
    assert any("đã hết hạn" in t for t in said)
    assert await bot.repos.officials.get(OFFICIAL) is None


@pytest.mark.parametrize("payload", ["o-0123456789abcdef-AAAAAAAAAAAAAAAA", "o-garbage"])
async def test_a_forged_invite_is_refused(bot: BotHarness, payload: str) -> None:
    said = texts(await bot.send(OFFICIAL, f"/start {payload}"))
    assert any("không hợp lệ" in t for t in said)
    assert await bot.repos.officials.get(OFFICIAL) is None


async def test_admin_lists_and_revokes_officials(bot: BotHarness) -> None:
    await become_official(bot, OFFICIAL, "Hà Nội")
    await become_official(bot, WARD_OFFICIAL, "Ba Đình, Hà Nội")
    await bot.repos.subscriptions.subscribe(OFFICIAL, "vn/1", bot.clock.now())
    calls = await bot.send(ADMIN, "/officials")
    listing = calls[-1]
    assert "Phường Ba Đình, Thành phố Hà Nội" in listing.text and str(OFFICIAL) in listing.text
    assert len(buttons(listing)) == 2
    said = texts(await bot.press(ADMIN, button_data(calls, "Lan")))
    assert any("không còn là cán bộ" in t for t in said)
    assert {o.user_id for o in await bot.repos.officials.all()} == {WARD_OFFICIAL}
    assert await bot.repos.subscriptions.for_user(OFFICIAL) == []
    refused = texts(await bot.send(OFFICIAL, "/report"))
    assert any(NOT_OFFICIAL in t for t in refused)
    assert (await audit_actions(bot))[-1] == "revoke"


# ---- Refusals ------------------------------------------------------------------------------------------

OFFICIAL_COMMANDS = [
    "/report",
    "/report 2026-11-18 Hà Nội",
    "/subscribe",
    "/subscribe Ba Đình",
    "/subscriptions",
    "/unsubscribe",
    "/inactive",
    "/trace ABCDEFGH 2026-11-19 08:00 2026-11-19 09:00",
    "/exposure ABCDEFGH 2026-11-19 08:00 2026-11-19 09:00",
]
ADMIN_COMMANDS = ["/invite Hà Nội", "/officials", "/audit"]


@pytest.mark.parametrize("command", OFFICIAL_COMMANDS + ADMIN_COMMANDS)
async def test_citizens_and_owners_reach_none_of_it(bot: BotHarness, command: str) -> None:
    venue = await make_venue(bot, "Quán Nhà Bà", owner=OWNER)
    await scan(bot, CITIZEN, venue)
    for user in (CITIZEN, OWNER):
        said = texts(await bot.send(user, command.replace("ABCDEFGH", venue.code)))
        expected = NOT_ADMIN if command in ADMIN_COMMANDS else NOT_OFFICIAL
        assert any(expected in t for t in said), (user, said)
    assert await bot.repos.audit.since() == []
    assert await bot.repos.subscriptions.all() == []
    assert await bot.repos.outbox.count(kind="exposure") == 0


@pytest.mark.parametrize(
    "data", ["off:sub:vn/1", "off:uns:vn/1", "off:rev:6001", "off:exp:ABCDEFGH:1763517600:1763521200"]
)
async def test_buttons_refuse_citizens(bot: BotHarness, data: str) -> None:
    await become_official(bot, OFFICIAL, "Hà Nội")
    calls = await bot.press(CITIZEN, data)
    alerts = [c for c in calls if c.method == "answerCallbackQuery"]
    expected = NOT_ADMIN if data.startswith("off:rev") else NOT_OFFICIAL
    assert alerts and expected in alerts[0].params["text"]
    assert await bot.repos.subscriptions.all() == []
    assert await bot.repos.officials.get(OFFICIAL) is not None
    assert await audit_actions(bot) == ["invite", "join"]


# ---- Command menus -------------------------------------------------------------------------------------

ADMIN_ONLY = {"invite", "officials", "audit"}
OFFICIALS_MENU = {"report", "subscribe", "subscriptions", "inactive", "trace", "exposure"}


async def chat_menu(bot: BotHarness, chat_id: int, lang: str | None = None) -> dict[str, str]:
    """The command menu Telegram now holds for one chat and language: command -> description."""
    commands = await bot.app.bot.get_my_commands(scope=BotCommandScopeChat(chat_id), language_code=lang)
    return {command.command: command.description for command in commands}


async def test_admins_get_their_commands_in_the_menu_at_start_up(bot: BotHarness) -> None:
    english = await chat_menu(bot, ADMIN, "en")
    assert ADMIN_ONLY | OFFICIALS_MENU | {"checkin", "newvenue", "help"} <= set(english)
    assert english["invite"] == "Invite link for a new official"
    vietnamese = await chat_menu(bot, ADMIN)
    assert set(vietnamese) == set(english)
    assert vietnamese["invite"] == "Tạo đường dẫn mời cán bộ mới"
    assert vietnamese["officials"] == "Danh sách cán bộ, thu hồi quyền"
    assert vietnamese["audit"] == "Nhật ký hoạt động gần đây"
    everyone = await bot.app.bot.get_my_commands(scope=BotCommandScopeDefault())
    assert not ADMIN_ONLY & {command.command for command in everyone}, "the default menu stays citizens'"


@pytest.mark.parametrize(
    "description",
    [
        "Bad Request: chat not found",
        f"Bad Request: chat not found (POST /bot{TEST_TOKEN}/setMyCommands)",  # a proxy echoing the path
    ],
)
async def test_an_admin_who_never_opened_the_chat_is_skipped_with_one_warning(
    settings: Settings,
    repos: Repos,
    botapi: BotApiDouble,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
    description: str,
) -> None:
    never_wrote, later = 900002, 900003
    admins = settings.model_copy(update={"admins": frozenset({ADMIN, never_wrote, later})})
    botapi.fail("setMyCommands", status=400, description=description, chat_id=never_wrote)
    caplog.set_level(logging.WARNING)
    bot = await BotHarness.start(admins, repos, botapi, clock)
    try:
        assert await chat_menu(bot, never_wrote, "en") == {}
        for admin in (ADMIN, later):
            for lang in (None, "en"):
                assert set(await chat_menu(bot, admin, lang)) >= ADMIN_ONLY, (admin, lang)
        warnings = [record for record in caplog.records if record.levelno >= logging.WARNING]
        assert len(warnings) == 1, [record.getMessage() for record in warnings]
        line = warnings[0].getMessage()
        assert str(never_wrote) in line and "chat not found" in line.lower() and "\n" not in line
        assert warnings[0].exc_info is None, "one line, no traceback"
        assert TEST_TOKEN.split(":")[1].lower() not in caplog.text.lower()
        said = texts(await bot.send(later, "/officials", language_code="en"))
        assert any("There are no officials yet" in t for t in said), "the bot runs"
    finally:
        await bot.stop()


async def test_an_admin_who_is_also_an_official_keeps_the_admin_menu(bot: BotHarness) -> None:
    await become_official(bot, ADMIN, "Hà Nội", language_code="en")
    assert set(await chat_menu(bot, ADMIN, "en")) >= ADMIN_ONLY | OFFICIALS_MENU
    await become_official(bot, OFFICIAL, "Hà Nội", language_code="en")
    official_menu = set(await chat_menu(bot, OFFICIAL, "en"))
    assert official_menu >= OFFICIALS_MENU and not ADMIN_ONLY & official_menu

    listing = await bot.send(ADMIN, "/officials", language_code="en")
    revoke_admin = next(data for _label, data in buttons(listing[-1]) if data == f"off:rev:{ADMIN}")
    await bot.press(ADMIN, revoke_admin, language_code="en")
    assert await bot.repos.officials.get(ADMIN) is None
    assert set(await chat_menu(bot, ADMIN, "en")) >= ADMIN_ONLY | OFFICIALS_MENU, "still an admin"
    await bot.press(ADMIN, f"off:rev:{OFFICIAL}", language_code="en")
    assert await chat_menu(bot, OFFICIAL, "en") == {}, "back to the default menu"


async def test_officials_are_not_admins(bot: BotHarness) -> None:
    await become_official(bot, OFFICIAL, "Hà Nội")
    for command in ADMIN_COMMANDS:
        assert any(NOT_ADMIN in t for t in texts(await bot.send(OFFICIAL, command)))


async def test_help_lists_the_commands_of_the_person_s_role(bot: BotHarness) -> None:
    async def help_of(user: int) -> str:
        return "\n".join(texts(await bot.send(user, "/help")))

    official_lines = ("/subscriptions, /unsubscribe", "/trace ", "/exposure ")
    citizen = await help_of(CITIZEN)
    assert not any(line in citizen for line in official_lines) and "/invite" not in citizen
    await become_official(bot, OFFICIAL, "Hà Nội")
    official = await help_of(OFFICIAL)
    assert all(line in official for line in official_lines)
    assert "/invite" not in official and "/audit" not in official
    admin = await help_of(ADMIN)
    assert all(line in admin for line in (*official_lines, "/invite ", "/officials:", "/audit:"))


async def test_everything_outside_the_region_is_refused(bot: BotHarness) -> None:
    inside = await make_venue(bot, "Quán Trong", ward="Ba Đình")
    outside = await make_venue(bot, "Quán Ngoài", ward="Hoàn Kiếm")
    elsewhere = await make_venue(bot, "Quán Sài Gòn", ward="Bến Thành", province="Hồ Chí Minh")
    await scan(bot, CITIZEN, outside)
    await become_official(bot, WARD_OFFICIAL, "Ba Đình, Hà Nội")
    window = "2026-11-19 08:00 2026-11-19 10:00"
    for command in [
        "/report 2026-11-18 Hà Nội",
        "/report Hoàn Kiếm",
        f"/trace {outside.code} {window}",
        f"/exposure {outside.code} {window}",
        f"/trace {elsewhere.code} {window}",
        "/subscribe Hà Nội",
        "/inactive 3 Hoàn Kiếm",
    ]:
        said = texts(await bot.send(WARD_OFFICIAL, command))
        assert any(OUTSIDE in t for t in said), (command, said)
    press = await bot.press(WARD_OFFICIAL, "off:sub:vn/1")
    assert OUTSIDE in press[0].params["text"]
    assert await bot.repos.subscriptions.all() == []
    assert await audit_actions(bot) == ["invite", "join"], "refused traces are not run"
    ok = texts(await bot.send(WARD_OFFICIAL, f"/trace {inside.code} {window}"))
    assert any("Không có lượt check-in nào" in t for t in ok)


async def test_group_chats_are_refused(bot: BotHarness) -> None:
    await become_official(bot, OFFICIAL, "Hà Nội")
    update = factories.message_update(OFFICIAL, "/report")
    update["message"]["chat"] = {"id": -100123, "type": "supergroup", "title": "Ward staff"}
    before = len(bot.api.calls)
    await bot.feed(update)
    said = texts(bot.api.calls[before:])
    assert any("trò chuyện riêng" in t for t in said)
    assert not any("QR" in t for t in said)


# ---- Report and subscriptions -------------------------------------------------------------------------


async def test_report_in_the_chat_reads_like_the_bulletin(bot: BotHarness) -> None:
    a = await make_venue(bot, "Quán A", ward="Ba Đình")
    b = await make_venue(bot, "Quán B", ward="Hoàn Kiếm")
    await scan(bot, CITIZEN, a)
    await scan(bot, OTHER, b)
    bot.clock.advance(timedelta(days=1))  # 20/11: the report is about yesterday, the 19th
    await scan(bot, CITIZEN, a)
    await become_official(bot, OFFICIAL, "Hà Nội")
    said = texts(await bot.send(OFFICIAL, "/report"))[-1]
    assert "Báo cáo quét mã QR, Thành phố Hà Nội, ngày 19/11/2026" in said
    assert "Đến ngày 19/11, Thành phố Hà Nội có 2 địa điểm quét mã QR" in said
    assert "Tổng số lượt quét mã QR trong ngày là 2 lượt" in said
    assert "Phường Ba Đình: 1 lượt" in said
    await become_official(bot, ENGLISH_OFFICIAL, "Hà Nội", language_code="en")
    ward = texts(await bot.send(ENGLISH_OFFICIAL, "/report 2026-11-20 Ba Đình", language_code="en"))[-1]
    assert "Phường Ba Đình" in ward and "1 scan in the day" in ward
    refused = texts(await bot.send(OFFICIAL, "/report 2026-11-21"))
    assert any("chưa đến" in t for t in refused)
    bad = texts(await bot.send(OFFICIAL, "/report 2026-13-01"))
    assert any("YYYY-MM-DD" in t for t in bad)
    unknown = texts(await bot.send(OFFICIAL, "/report Atlantis"))
    assert any("Không tìm thấy địa bàn" in t for t in unknown)


async def test_subscribe_by_button_and_by_name_then_the_morning_report(bot: BotHarness) -> None:
    venue = await make_venue(bot, "Quán A", ward="Ba Đình")
    await scan(bot, CITIZEN, venue)
    await become_official(bot, OFFICIAL, "Hà Nội", language_code="en")
    calls = await bot.send(OFFICIAL, "/subscribe", language_code="en")
    assert [label for label, _ in buttons(calls[-1])] == ["Thành phố Hà Nội"], "126 wards: search instead"
    assert "/subscribe" in calls[-1].text
    said = texts(await bot.press(OFFICIAL, button_data(calls, "Hà Nội"), language_code="en"))
    assert any("Subscribed: the report for Thành phố Hà Nội" in t for t in said)
    said = texts(await bot.send(OFFICIAL, "/subscribe Ba Đình", language_code="en"))
    assert any("Subscribed: the report for Phường Ba Đình, Thành phố Hà Nội" in t for t in said)
    again = texts(await bot.send(OFFICIAL, "/subscribe Ba Đình", language_code="en"))
    assert any("already get" in t for t in again)
    listing = await bot.send(OFFICIAL, "/subscriptions", language_code="en")
    assert "Thành phố Hà Nội" in listing[-1].text and "Phường Ba Đình" in listing[-1].text
    assert len(buttons(listing[-1])) == 2

    # A citizen-turned-official in Vietnamese, and an admin who subscribes to the whole country.
    await become_official(bot, WARD_OFFICIAL, "Ba Đình, Hà Nội")
    await bot.send(WARD_OFFICIAL, "/subscribe Ba Đình")
    country = await bot.send(ADMIN, "/subscribe")
    assert len(buttons(country[-1])) == 35, "the country and its 34 provinces"
    await bot.press(ADMIN, "off:sub:vn")

    bot.clock.advance(timedelta(days=1))
    day = bot.today() - timedelta(days=1)
    assert await bot.container.officials.morning_reports.queue(day) == 4
    assert await bot.container.officials.morning_reports.queue(day) == 0, "nobody gets the same report twice"
    city = await bot.repos.outbox.get(f"official-report:{OFFICIAL}:vn/1:2026-11-19")
    assert city is not None and city["kind"] == "official-report" and city["chat_id"] == OFFICIAL
    assert "On 19/11, Thành phố Hà Nội had 1 QR check-in point," in city["text"]
    ward = await bot.repos.outbox.get(f"official-report:{WARD_OFFICIAL}:vn/1/4:2026-11-19")
    assert ward is not None and "Đến ngày 19/11, Phường Ba Đình có 1 địa điểm quét mã QR" in ward["text"]
    assert await bot.repos.outbox.get(f"official-report:{ADMIN}:vn:2026-11-19") is not None

    # Stopping one report; a revoked official's subscriptions go with them.
    said = texts(await bot.press(OFFICIAL, f"off:uns:{ward['meta']['region']}", language_code="en"))
    assert any("Stopped" in t for t in said)
    assert [s.region for s in await bot.repos.subscriptions.for_user(OFFICIAL)] == ["vn/1"]
    await bot.container.officials.roster.revoke(officials.CLI_ACTOR, WARD_OFFICIAL)
    next_day = day + timedelta(days=1)
    assert await bot.container.officials.morning_reports.queue(next_day) == 2


async def test_a_typed_search_with_one_match_subscribes_without_a_tap(bot: BotHarness) -> None:
    await become_official(bot, OFFICIAL, "Hà Nội")
    said = texts(await bot.send(OFFICIAL, "/subscribe hoan kiem"))
    assert any("Đã đăng ký" in t and "Phường Hoàn Kiếm" in t for t in said)
    hoan_kiem = bot.container.regions.match_ward(
        bot.container.regions.match_province("Hà Nội").id, "Hoàn Kiếm"
    )
    assert [s.region for s in await bot.repos.subscriptions.for_user(OFFICIAL)] == [hoan_kiem.id]


async def test_typed_search_offers_the_matching_wards(bot: BotHarness) -> None:
    await become_official(bot, OFFICIAL, "Hà Nội")
    calls = await bot.send(OFFICIAL, "/subscribe Ba")
    labels = [label for label, _ in buttons(calls[-1])]
    assert "Phường Ba Đình" in labels and all(" ba" in " " + fold(label) for label in labels)
    assert all(data.startswith("off:sub:vn/1/") for _, data in buttons(calls[-1]))
    await bot.press(OFFICIAL, buttons(calls[-1])[0][1])
    assert len(await bot.repos.subscriptions.for_user(OFFICIAL)) == 1
    nothing = texts(await bot.send(OFFICIAL, "/unsubscribe"))
    assert any("dừng" in t for t in nothing)


async def test_a_subscription_outside_the_new_scope_is_skipped(bot: BotHarness) -> None:
    await become_official(bot, OFFICIAL, "Hà Nội")
    await bot.send(OFFICIAL, "/subscribe Hà Nội")
    await become_official(bot, OFFICIAL, "Ba Đình, Hà Nội")  # a new invite narrows the scope
    assert await bot.container.officials.morning_reports.queue(bot.today()) == 0


# ---- Inactive venues -----------------------------------------------------------------------------------


async def test_english_counts_of_one_read_in_the_singular(bot: BotHarness) -> None:
    venue = await make_venue(bot, "Quán Một")
    bot.clock.advance(timedelta(days=2))
    await bot.send(OFFICIAL, "/language")
    await become_official(bot, OFFICIAL, "Hà Nội")
    await bot.press(OFFICIAL, "lang:en")
    said = "\n".join(texts(await bot.send(OFFICIAL, "/inactive 1")))
    assert "1 venue in Thành phố Hà Nội registered at least 1 day ago had no scan in the last day." in said
    await scan(bot, CITIZEN, venue)
    day = bot.today().isoformat()
    calls = await bot.send(OFFICIAL, f"/trace {venue.code} {day} 00:00 {day} 23:59")
    captions = [str(call.params.get("caption")) for call in calls if call.method == "sendDocument"]
    assert any(caption.startswith("1 visit at Quán Một") and "overlaps" in caption for caption in captions)


async def test_inactive_venues_with_a_csv_that_cannot_run_formulas(bot: BotHarness) -> None:
    await bot.send(OWNER, "/help")  # the owner has a profile, so they are reachable
    quiet = await make_venue(bot, '=HYPERLINK("http://evil";"x")', owner=OWNER)
    busy = await make_venue(bot, "Quán Đông Khách")
    lapsed = await make_venue(bot, "+Cà phê Góc Phố", owner=777)
    bot.clock.advance(timedelta(days=1))
    await scan(bot, CITIZEN, lapsed)
    bot.clock.advance(timedelta(days=4))  # 24/11
    await scan(bot, CITIZEN, busy)
    new = await make_venue(bot, "Quán Mới Mở")
    await become_official(bot, OFFICIAL, "Hà Nội")
    calls = await bot.send(OFFICIAL, "/inactive")
    summary = next(t for t in texts(calls) if "không có lượt quét nào" in t)
    assert summary.startswith("2 địa điểm tại Thành phố Hà Nội")
    assert quiet.code in summary and lapsed.code in summary
    assert busy.code not in summary and new.code not in summary
    [(name, content, caption)] = documents(calls)
    assert "Thành phố Hà Nội" in caption
    assert name.startswith("inactive-vn-1-") and name.endswith(".csv")
    rows = csv_rows(content)
    assert rows[0] == [
        "Mã",
        "Tên địa điểm",
        "Địa chỉ",
        "Phường, xã",
        "Ngày đăng ký",
        "Ngày có lượt quét gần nhất",
        "Đã từng có lượt quét",
        "Liên lạc được với chủ",
        "Tính đến ngày",
    ]
    by_code = {row[0]: row for row in rows[1:]}
    assert set(by_code) == {quiet.code, lapsed.code}
    assert by_code[quiet.code][1] == '\'=HYPERLINK("http://evil";"x")'
    assert by_code[lapsed.code][1] == "'+Cà phê Góc Phố"
    assert by_code[quiet.code][3] == "Phường Ba Đình, Thành phố Hà Nội"
    # Every column holds one kind of value: a date or nothing, yes or no, the day the list counts from.
    assert by_code[quiet.code][4] == "2026-11-19" and by_code[quiet.code][5] == ""
    assert by_code[lapsed.code][5] == "2026-11-20"
    assert (by_code[quiet.code][6], by_code[lapsed.code][6]) == ("không", "có")
    assert (by_code[quiet.code][7], by_code[lapsed.code][7]) == ("có", "không")
    assert {row[8] for row in by_code.values()} == {bot.today().isoformat()}
    assert f"Tính đến hôm nay, {bot.today():%d/%m/%Y}" in summary
    week = texts(await bot.send(OFFICIAL, "/inactive 7"))
    assert any("Mọi địa điểm" in t for t in week), "nothing was registered 7 days ago"
    assert any("1 đến 90" in t for t in texts(await bot.send(OFFICIAL, "/inactive 0")))


# ---- Tracing -------------------------------------------------------------------------------------------


async def test_trace_sends_a_csv_and_is_audited(bot: BotHarness) -> None:
    venue = await make_venue(bot, "Phòng khám Đức Thành")
    elsewhere = await make_venue(bot, "Quán Khác")
    await bot.feed(factories.contact_update(CITIZEN, "+84912345678", first_name="Minh"))
    first = await scan(bot, CITIZEN, venue, first_name="Minh")
    visit_id = button_data(first, "+1").removeprefix("v:plus:")
    await bot.press(CITIZEN, f"v:plus:{visit_id}")
    await bot.repos.checkins.record_health(visit_id, CITIZEN, HealthAnswers(True, False, None), skipped=False)
    bot.clock.advance(timedelta(minutes=30))
    # Invisible characters before the = neither hide it from the export nor reach the database.
    await scan(bot, OTHER, venue, first_name="\u202e\u200d=cmd|' /C calc'!A0")
    bot.clock.advance(timedelta(minutes=10))
    await bot.send(OTHER, "/checkout")
    await scan(bot, THIRD, elsewhere)
    bot.clock.advance(timedelta(hours=3))  # 12:40
    await scan(bot, THIRD, venue)  # after the window
    await become_official(bot, OFFICIAL, "Hà Nội")
    calls = await bot.send(OFFICIAL, f"/trace {venue.code.lower()} 2026-11-19T08:30 10:00", first_name="Lan")
    [(name, content, caption)] = documents(calls)
    assert name == f"trace-{venue.code}-20261119-0830.csv"
    assert "2 lượt check-in tại Phòng khám Đức Thành" in caption and "nhật ký" in caption
    rows = csv_rows(content)
    assert rows[0][:6] == [
        "Giờ check-in",
        "Giờ check-out",
        "Hình thức kết thúc",
        "Số người",
        "Tên hiển thị",
        "Số điện thoại",
    ]
    assert rows[1] == [
        "2026-11-19 09:00", "2026-11-19 11:00", "tự động check-out", "2", "Minh", "+84912345678",
        "có", "không", "", "đã khai báo",
    ]  # fmt: skip
    assert rows[2][:6] == [
        "2026-11-19 09:30",
        "2026-11-19 09:40",
        "tự check-out",
        "1",
        "'=cmd|' /C calc'!A0",
        "",
    ]
    assert rows[2][9] == "không yêu cầu"
    [entry] = [e for e in await bot.repos.audit.since() if e.action == "trace"]
    assert (entry.actor_id, entry.actor_name, entry.venue_code, entry.rows) == (
        OFFICIAL,
        "Lan",
        venue.code,
        2,
    )
    tz = bot.container.settings.tz
    assert entry.window_start is not None and entry.window_end is not None
    assert f"{entry.window_start.astimezone(tz):%Y-%m-%d %H:%M}" == "2026-11-19 08:30"
    assert f"{entry.window_end.astimezone(tz):%Y-%m-%d %H:%M}" == "2026-11-19 10:00"
    assert entry.at == bot.clock.now()

    # The admin's chat is in Vietnamese: no internal words, local times.
    audit = texts(await bot.send(ADMIN, "/audit"))[-1]
    assert (
        f"Lan ({OFFICIAL}) · truy vết · {venue.code} · 19/11/2026 08:30 – 19/11/2026 10:00 · 2 lượt check-in"
        in audit
    )
    assert "rows=" not in audit and "trace" not in audit
    await bot.send(ADMIN, "/invite Ba Đình, Hà Nội 24h")
    audit = texts(await bot.send(ADMIN, "/audit"))[-1]
    assert "tạo đường dẫn mời · Phường Ba Đình" in audit and "hiệu lực đến" in audit
    assert "expires" not in audit and "Z" not in audit.split("hiệu lực đến", 1)[1].split("\n", 1)[0]


@pytest.mark.parametrize(
    "args",
    [
        "",
        "K7Q2XH4M",
        "K7Q2XH4M 2026-11-19",
        "K7Q2XH4M 19/11 08:00 19/11 09:00",
        "K7Q2XH4M 2026-11-19 25:00 2026-11-19 26:00",
        "notacode 2026-11-19 08:00 2026-11-19 09:00",
    ],
)
async def test_trace_explains_the_format(bot: BotHarness, args: str) -> None:
    await become_official(bot, OFFICIAL, "Hà Nội")
    said = texts(await bot.send(OFFICIAL, f"/trace {args}".strip()))
    assert any("YYYY-MM-DD HH:MM" in t for t in said)
    assert "trace" not in await audit_actions(bot)


async def test_trace_refuses_backwards_long_future_windows_and_unknown_venues(bot: BotHarness) -> None:
    await become_official(bot, OFFICIAL, "Hà Nội")
    for args, expected in [
        ("ABCDEFGH 2026-11-19 09:00 2026-11-19 08:00", "phải sau"),
        ("ABCDEFGH 2026-10-01 09:00 2026-11-19 08:00", "tối đa 31 ngày"),
        ("ABCDEFGH 2026-11-20 09:00 2026-11-20 10:00", "tương lai"),
        ("ABCDEFGH 2026-11-19 07:00 2026-11-19 08:00", "Không có địa điểm nào mang mã ABCDEFGH"),
    ]:
        assert any(expected in t for t in texts(await bot.send(OFFICIAL, f"/trace {args}"))), args


# ---- Exposure alerts -----------------------------------------------------------------------------------


async def test_exposure_alerts_reach_exactly_the_people_who_were_there(bot: BotHarness) -> None:
    venue = await make_venue(bot, "Quán Bún Chả Hương Liên")
    await scan(bot, CITIZEN, venue, language_code="en")  # 09:00-11:00 (automatic check-out)
    bot.clock.advance(timedelta(minutes=20))
    await scan(bot, OTHER, venue)  # 09:20
    await scan(bot, FORGETFUL, venue)
    await bot.send(FORGETFUL, "/forget")
    await bot.press(FORGETFUL, "v:forget:yes")
    bot.clock.advance(timedelta(hours=3))
    await scan(bot, THIRD, venue)  # 12:20, after the window
    await become_official(bot, OFFICIAL, "Hà Nội")
    command = f"/exposure {venue.code} 2026-11-19 08:00 2026-11-19 10:00"
    calls = await bot.send(OFFICIAL, command)
    assert "2 người đã check-in tại Quán Bún Chả Hương Liên" in calls[-1].text
    confirm = button_data(calls, "Gửi cảnh báo")
    assert await bot.repos.outbox.count(kind="exposure") == 0, "nothing is sent before the confirmation"
    said = texts(await bot.press(OFFICIAL, confirm))
    assert any("Đã xếp lịch gửi cảnh báo cho 2 người" in t for t in said)

    queued = await bot.repos.db["outbox"].find({"kind": "exposure"}).to_list()
    assert sorted(doc["chat_id"] for doc in queued) == [CITIZEN, OTHER]
    english = next(doc for doc in queued if doc["chat_id"] == CITIZEN)
    assert english["text"].startswith("⚠️ Exposure alert")
    assert "Quán Bún Chả Hương Liên" in english["text"] and "19/11/2026 09:00–11:00" in english["text"]
    assert "1900 9095" in english["text"]
    vietnamese = next(doc for doc in queued if doc["chat_id"] == OTHER)
    assert vietnamese["text"].startswith("⚠️ Cảnh báo tiếp xúc") and "09:20–11:20" in vietnamese["text"]
    assert english["_id"].startswith(f"exposure:{venue.code}:{CITIZEN}:")

    # Running the same exposure again notifies nobody twice, even through the old button.
    again = await bot.send(OFFICIAL, command)
    assert "Không có ai cần cảnh báo" in again[-1].text and "2 người đã được cảnh báo" in again[-1].text
    said = texts(await bot.press(OFFICIAL, confirm))
    assert any("cho 0 người" in t for t in said)
    wider = await bot.send(OFFICIAL, f"/exposure {venue.code} 2026-11-19 08:00 2026-11-19 13:00")
    assert "1 người đã check-in" in wider[-1].text, "only the person seen after the first window"
    assert await bot.repos.outbox.count(kind="exposure") == 2
    exposures = [e for e in await bot.repos.audit.since() if e.action == "exposure"]
    assert sorted(e.rows or 0 for e in exposures) == [0, 2]

    # The delivery engine sends them: exactly those two people get a message.
    bot.api.clear()
    await drain_outbox(bot.container.settings, bot.repos.outbox, bot.repos.users, clock=bot.clock)
    recipients = sorted(int(c.params["chat_id"]) for c in bot.api.calls_of("sendMessage"))
    assert recipients == [CITIZEN, OTHER]


async def test_exposure_cancel_sends_nothing(bot: BotHarness) -> None:
    venue = await make_venue(bot, "Quán A")
    await scan(bot, CITIZEN, venue)
    await become_official(bot, OFFICIAL, "Hà Nội")
    await bot.send(OFFICIAL, f"/exposure {venue.code} 2026-11-19 08:00 2026-11-19 10:00")
    said = texts(await bot.press(OFFICIAL, "off:expno"))
    assert any("Đã huỷ" in t for t in said)
    assert await bot.repos.outbox.count(kind="exposure") == 0
    assert "exposure" not in await audit_actions(bot)
