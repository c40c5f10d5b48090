"""Presence stories: /today against check-ins made through the bot, auto check-out, capacity alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.capacity import alert_due, lowest_presence, rearm_level
from bot.presence import DayFigures, busiest, counted_figures, present_at, same_time_yesterday
from bot.venues import venue_request
from storage.models import CapacityAlarm, Venue, VenueDay, Visit
from tests.harness import BotHarness, button_data, texts

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
OWNER = 6301
STAFF = 6302
A, B, C, D = 6311, 6312, 6313, 6314


async def make_venue(bot: BotHarness, capacity: int | None = None) -> Venue:
    regions = bot.container.regions
    hanoi = regions.match_province("Hà Nội")
    request = venue_request(
        name="Nhà sách Tràng Tiền",
        address="44 Tràng Tiền",
        region=regions.match_ward(hanoi.id, "Hoàn Kiếm"),
        category="shop",
        capacity=capacity,
        owner_id=OWNER,
    )
    return await bot.container.venues.register(request)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=TZ)


async def scan(bot: BotHarness, user: int, venue: Venue) -> list:
    return await bot.send(user, f"/start {bot.link_payload(venue.code)}", language_code="en")


async def today_text(bot: BotHarness, user: int = OWNER) -> str:
    said = texts(await bot.send(user, "/today", language_code="en"))
    return "\n".join(said)


async def test_today_counts_what_happened_and_compares_with_yesterday_same_time(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    await bot.send(OWNER, "/help", language_code="en")
    # Yesterday: A with one companion at 08:00, B at 08:30, C at 10:00 (after "now" of yesterday).
    bot.clock.set(at(18, 8, 0))
    calls = await scan(bot, A, venue)
    await bot.press(A, button_data(calls, "+1"), language_code="en")
    bot.clock.set(at(18, 8, 30))
    await scan(bot, B, venue)
    bot.clock.set(at(18, 10, 0))
    await scan(bot, C, venue)
    # Today: A 07:30-08:00, B with two companions from 08:10, D at 08:45, A again at 08:50.
    bot.clock.set(at(19, 7, 30))
    await scan(bot, A, venue)
    bot.clock.set(at(19, 8, 0))
    await bot.send(A, "/checkout", language_code="en")
    bot.clock.set(at(19, 8, 10))
    calls = await scan(bot, B, venue)
    await bot.press(B, button_data(calls, "+1"), language_code="en")
    await bot.press(B, button_data(calls, "+1"), language_code="en")
    bot.clock.set(at(19, 8, 45))
    await scan(bot, D, venue)
    bot.clock.set(at(19, 8, 50))
    await scan(bot, A, venue)
    bot.clock.set(at(19, 9, 0))

    text = await today_text(bot)
    assert "Nhà sách Tràng Tiền · today until 09:00" in text
    assert "Check-ins: 4 (yesterday by 09:00: 2)" in text
    assert "Unique visitors: 3 (yesterday: 2)" in text
    assert "People, party sizes counted: 6 (yesterday: 3)" in text
    assert "Present now: 5 (yesterday at 09:00: 3)" in text
    assert "Busiest hour: 08:00–09:00 (3 check-ins)" in text
    stored = await bot.repos.checkins.venue_day(venue.code, "2026-11-19")
    assert (stored.checkins, stored.visitors, stored.people) == (4, 3, 6), "the counters agree"


async def test_the_today_button_and_staff_see_the_same_figures(bot: BotHarness) -> None:
    venue = await bot.repos.venues.add_staff((await make_venue(bot)).code, STAFF)
    await scan(bot, A, venue)
    owner_view = texts(await bot.press(OWNER, f"ven:today:{venue.code}", language_code="en"))
    staff_view = texts(await bot.press(STAFF, f"ven:today:{venue.code}", language_code="en"))
    assert any("Check-ins: 1 (yesterday by 09:00: 0)" in t for t in owner_view)
    assert [t for t in owner_view if "Check-ins" in t] == [t for t in staff_view if "Check-ins" in t]
    stranger = await today_text(bot, user=C)
    assert "Nhà sách" not in stranger and "/newvenue" in stranger


async def test_present_now_ends_with_check_out_and_automatic_check_out(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    await bot.press(OWNER, f"ven:auto:{venue.code}:30", language_code="en")
    await scan(bot, A, venue)
    await scan(bot, B, venue)
    assert "Present now: 2" in await today_text(bot)
    await bot.send(A, "/checkout", language_code="en")
    assert "Present now: 1" in await today_text(bot)
    bot.clock.advance(timedelta(minutes=29))
    assert "Present now: 1" in await today_text(bot)
    bot.clock.advance(timedelta(minutes=2))
    text = await today_text(bot)
    assert "Present now: 0" in text
    assert "Check-ins: 2" in text, "ended visits still count as check-ins"


async def capacity_alerts(bot: BotHarness) -> list[dict]:
    return (
        await bot.repos.db["outbox"]
        .find({"kind": "capacity"}, sort=[("created_at", 1), ("_id", 1)])
        .to_list()
    )


async def test_capacity_alert_goes_once_to_owner_and_staff(bot: BotHarness) -> None:
    venue = await bot.repos.venues.add_staff((await make_venue(bot, capacity=5)).code, STAFF)
    await bot.send(OWNER, "/help", language_code="en")
    await bot.send(STAFF, "/help", language_code="vi")
    for user in range(7000, 7004):
        await scan(bot, user, venue)
    assert await capacity_alerts(bot) == [], "4 of 5 is not full"
    await scan(bot, 7004, venue)
    alerts = await capacity_alerts(bot)
    assert {a["_id"] for a in alerts} == {
        f"capacity:{venue.code}:2026-11-19:1:{OWNER}",
        f"capacity:{venue.code}:2026-11-19:1:{STAFF}",
    }
    owner_alert = next(a for a in alerts if a["chat_id"] == OWNER)
    assert "is full: 5 people inside now, capacity 5" in owner_alert["text"]
    assert "fewer than 4 people" in owner_alert["text"]
    staff_alert = next(a for a in alerts if a["chat_id"] == STAFF)
    assert "đã đủ người" in staff_alert["text"]
    assert owner_alert["state"] == "pending", "sent by the delivery engine, not directly"
    assert not any(c.chat_id == OWNER and "is full" in (c.text or "") for c in bot.api.calls)
    await scan(bot, 7005, venue)
    assert len(await capacity_alerts(bot)) == 2, "still full: no second alert"


async def test_capacity_alert_rearms_only_below_80_percent(bot: BotHarness) -> None:
    venue = await make_venue(bot, capacity=5)  # re-armed below 4 people
    people = list(range(7100, 7120))
    for user in people[:5]:
        await scan(bot, user, venue)
    assert len(await capacity_alerts(bot)) == 1
    bot.clock.advance(timedelta(minutes=5))
    await bot.send(people[0], "/checkout")  # 4 inside: 80%, not below
    bot.clock.advance(timedelta(minutes=1))
    await scan(bot, people[5], venue)  # 5 again
    assert len(await capacity_alerts(bot)) == 1
    bot.clock.advance(timedelta(minutes=5))
    await bot.send(people[1], "/checkout")
    await bot.send(people[2], "/checkout")  # 3 inside: below 80%
    bot.clock.advance(timedelta(minutes=1))
    await scan(bot, people[6], venue)  # 4
    assert len(await capacity_alerts(bot)) == 1
    bot.clock.advance(timedelta(minutes=1))
    await scan(bot, people[7], venue)  # 5: full again after a dip
    alerts = await capacity_alerts(bot)
    assert [a["_id"] for a in alerts] == [
        f"capacity:{venue.code}:2026-11-19:1:{OWNER}",
        f"capacity:{venue.code}:2026-11-19:2:{OWNER}",
    ]


async def test_capacity_counts_party_sizes_and_automatic_check_out_rearms(bot: BotHarness) -> None:
    venue = await make_venue(bot, capacity=4)
    calls = await scan(bot, A, venue)
    await bot.press(A, button_data(calls, "+1"))
    await bot.press(A, button_data(calls, "+1"))  # A's party: 3
    await scan(bot, B, venue)  # 4 people
    assert len(await capacity_alerts(bot)) == 1
    bot.clock.advance(timedelta(minutes=121))  # everyone's visit ended by itself
    await scan(bot, C, venue)
    await scan(bot, D, venue)
    calls = await scan(bot, 7200, venue)
    await bot.press(7200, button_data(calls, "+1"))  # C, D, 7200 with one companion: 4 people, full
    assert len(await capacity_alerts(bot)) == 2, "a companion added with +1 counts toward capacity"
    await scan(bot, 7201, venue)  # 5 people: still full, no new alert until it drops below 80%
    assert len(await capacity_alerts(bot)) == 2


async def test_no_capacity_no_alert(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    for user in range(7300, 7320):
        await scan(bot, user, venue)
    assert await capacity_alerts(bot) == []


async def test_health_declarations_are_counted_without_names(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    await bot.press(OWNER, f"ven:health:{venue.code}:1", language_code="en")
    await scan(bot, A, venue)
    visit_a = (await bot.repos.db["visits"].find_one({"user_id": A}))["_id"]
    await bot.press(A, f"h:{visit_a}:ynn")
    await scan(bot, B, venue)
    visit_b = (await bot.repos.db["visits"].find_one({"user_id": B}))["_id"]
    await bot.press(B, f"h:{visit_b}:nnn")
    await scan(bot, C, venue)
    visit_c = (await bot.repos.db["visits"].find_one({"user_id": C}))["_id"]
    await bot.press(C, f"h:{visit_c}:s")
    await scan(bot, D, venue)  # has not answered yet
    text = await today_text(bot)
    assert "Health declarations: 1 declared symptoms or exposure, 2 answered, 1 skipped" in text
    for user in (A, B, C, D):
        assert str(user) not in text
    assert "An" not in text.replace("Tràng", ""), "no first names either"
    day = await bot.repos.checkins.venue_day(venue.code, "2026-11-19")
    assert (day.declared, day.declaration_answered, day.declaration_skipped) == (1, 2, 1)


def visit(user: int, start: datetime, minutes: int, party: int = 1, out: datetime | None = None) -> Visit:
    begin = start.astimezone(UTC)
    return Visit(
        id=f"{user:024d}",
        venue_code="K7Q2XH4M",
        venue_name="X",
        user_id=user,
        day=start.date().isoformat(),
        checkin_at=begin,
        auto_checkout_at=begin + timedelta(minutes=minutes),
        checkout_at=out.astimezone(UTC) if out else None,
        party=party,
    )


def test_presence_arithmetic() -> None:
    visits = [
        visit(1, at(19, 8), 60, party=2),  # 08:00-09:00
        visit(2, at(19, 8, 30), 120, out=at(19, 8, 40)),  # 08:30-08:40
        visit(3, at(19, 8, 50), 60),  # 08:50-09:50
    ]
    assert present_at(visits, at(19, 8, 35)) == 3
    assert present_at(visits, at(19, 8, 40)) == 2, "a check-out at 08:40 ends presence at 08:40"
    assert present_at(visits, at(19, 9)) == 1, "automatic check-out at 09:00"
    assert lowest_presence(visits, at(19, 8, 35), at(19, 8, 55)) == 2
    assert lowest_presence(visits, at(19, 8, 35), at(19, 9, 30)) == 1
    assert lowest_presence(visits, at(19, 10), at(19, 11)) == 0
    assert busiest({8: 3, 9: 3, 10: 1}) == (8, 3)
    assert busiest({}) is None
    counted = VenueDay(
        "K7Q2XH4M", "2026-11-19", checkins=3, visitors=3, people=4, hours={8: 3},
        visitor_hours={8: 3}, people_hours={8: 4},
    )  # fmt: skip
    figures = counted_figures(counted, present_at(visits, at(19, 8, 45)))
    assert (figures.checkins, figures.visitors, figures.people, figures.present) == (3, 3, 4, 2)
    assert (figures.busiest_hour, figures.busiest_checkins) == (8, 3)
    assert counted_figures(counted, 0, before_hour=8) == DayFigures(), "nothing before 08:00"
    assert counted_figures(counted, 1, before_hour=9) == DayFigures(
        checkins=3, visitors=3, people=4, present=1
    )
    assert same_time_yesterday(at(19, 0, 30).astimezone(UTC), TZ) == at(18, 0, 30)


def test_alert_rule() -> None:
    assert rearm_level(5) == 4 and rearm_level(10) == 8 and rearm_level(3) == 3
    full = [visit(n, at(19, 8), 120) for n in range(5)]
    now = at(19, 8, 30)
    assert alert_due(full, 5, None, now)
    assert not alert_due(full[:4], 5, None, now)
    recent = CapacityAlarm(last_alert_at=at(19, 8, 10).astimezone(UTC), day="2026-11-19", count=1)
    assert not alert_due(full, 5, recent, now)
    dipped = (
        [visit(n, at(19, 8), 15) for n in range(2)]
        + [visit(n, at(19, 8), 120) for n in range(2, 5)]
        + [visit(n, at(19, 8, 25), 120) for n in range(5, 7)]
    )  # 5 -> 3 at 08:15 -> 5 at 08:25
    assert alert_due(dipped, 5, recent, now)
    old = CapacityAlarm(last_alert_at=at(18, 8).astimezone(UTC), day="2026-11-18", count=3)
    assert alert_due(full, 5, old, now), "a day-old alert does not hold the next one back"


def test_health_figures() -> None:
    counted = VenueDay("K7Q2XH4M", "2026-11-19", declared=1, declaration_answered=2, declaration_skipped=1)
    figures = counted_figures(counted, 0)
    assert (figures.declared, figures.declaration_answered, figures.declaration_skipped) == (1, 2, 1)
    part = counted_figures(counted, 0, before_hour=12)
    assert (part.declared, part.declaration_answered, part.declaration_skipped) == (0, 0, 0), "not by hour"


async def test_today_counts_from_the_anonymous_counters_so_forget_does_not_change_it(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    bot.clock.set(at(18, 8, 0))
    await scan(bot, A, venue)
    bot.clock.set(at(19, 8, 0))
    calls = await scan(bot, A, venue)
    await bot.press(A, button_data(calls, "+1"), language_code="en")
    bot.clock.set(at(19, 8, 20))
    await scan(bot, B, venue)
    bot.clock.set(at(19, 9, 0))
    before = await today_text(bot)
    assert "Check-ins: 2 (yesterday by 09:00: 1)" in before
    assert "People, party sizes counted: 3 (yesterday: 1)" in before

    await bot.send(A, "/forget", language_code="en")
    await bot.press(A, "v:forget:yes", language_code="en")
    after = await today_text(bot)
    assert "Check-ins: 2 (yesterday by 09:00: 1)" in after, "the same as the evening summary will say"
    assert "Unique visitors: 2 (yesterday: 1)" in after
    assert "People, party sizes counted: 3 (yesterday: 1)" in after
    assert "Busiest hour: 08:00–09:00 (2 check-ins)" in after
    assert "Present now: 1 " in after, "presence is of the visits still stored"
    stored = await bot.repos.checkins.venue_day(venue.code, "2026-11-19")
    assert (stored.checkins, stored.visitors, stored.people) == (2, 2, 3)


async def test_yesterday_is_compared_up_to_the_same_whole_hour(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    for minute, user in ((5, A), (40, B)):
        bot.clock.set(at(18, 9, minute))
        await scan(bot, user, venue)
    bot.clock.set(at(19, 9, 30))
    text = await today_text(bot)
    assert "today until 09:30" in text
    assert "Check-ins: 0 (yesterday by 09:00: 0)" in text, "yesterday's 09:05 and 09:40 are after 09:00"
    bot.clock.set(at(19, 10, 0))
    assert "Check-ins: 0 (yesterday by 10:00: 2)" in await today_text(bot)
