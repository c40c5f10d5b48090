"""Daily summary stories: figures checked against check-ins made through the bot, the chart, the nudge."""

from __future__ import annotations

import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

from PIL import Image

from bot.app.container import build_container
from bot.app.settings import Settings
from bot.clock import ManualClock
from bot.i18n import gettext_for
from bot.summaries import (
    OwnerSummaries,
    build_summary,
    covered_window,
    render_hourly_chart,
    render_summary,
)
from bot.venues import venue_request
from storage.database import Repos
from storage.models import Venue, VenueDay
from tests.harness import BotHarness, button_data

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
OWNER = 6401
OTHER_OWNER = 6402
PEAK_RGB = (0xE0, 0x7A, 0x1F)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=TZ)


async def make_venue(bot: BotHarness, name: str = "Bún chả Hương Liên", owner: int = OWNER) -> Venue:
    regions = bot.container.regions
    hanoi = regions.match_province("Hà Nội")
    request = venue_request(
        name=name,
        address="24 Lê Văn Hưu",
        region=regions.match_ward(hanoi.id, "Hai Bà Trưng"),
        category="food",
        owner_id=owner,
    )
    return await bot.container.venues.register(request)


async def scan_at(bot: BotHarness, moment: datetime, user: int, venue: Venue) -> list:
    bot.clock.set(moment)
    return await bot.send(user, f"/start {bot.link_payload(venue.code)}", language_code="en")


async def summaries(bot: BotHarness) -> list[dict]:
    return await bot.repos.db["outbox"].find({"kind": "owner-summary"}, sort=[("_id", 1)]).to_list()


async def test_summary_figures_match_the_check_ins_and_carry_a_chart(bot: BotHarness) -> None:
    bot.clock.set(at(10, 9))
    venue = await make_venue(bot)
    await bot.send(OWNER, "/help", language_code="en")
    for n in range(5):  # a busy Sunday lunch
        await scan_at(bot, at(15, 12, n), 8000 + n, venue)
    await scan_at(bot, at(18, 10), 8100, venue)
    await scan_at(bot, at(18, 11), 8101, venue)
    await scan_at(bot, at(18, 22), 8102, venue)  # after yesterday's summary hour
    await scan_at(bot, at(19, 9), 8200, venue)
    calls = await scan_at(bot, at(19, 10, 15), 8201, venue)
    await bot.press(8201, button_data(calls, "+1"))
    await scan_at(bot, at(19, 10, 40), 8202, venue)
    await scan_at(bot, at(19, 20, 30), 8203, venue)
    bot.clock.set(at(19, 21))

    assert await bot.container.owner_summaries.queue(date(2026, 11, 19), 21) == 1
    [message] = await summaries(bot)
    assert message["_id"] == f"owner-summary:{venue.code}:2026-11-19"
    assert message["chat_id"] == OWNER and message["state"] == "pending"
    text = message["text"]
    assert "Daily summary · Bún chả Hương Liên · 19/11/2026" in text
    assert "Check-ins: 4" in text
    assert "Unique visitors: 4" in text
    assert "People, party sizes counted: 5" in text
    assert "Busiest hour: 10:00–11:00 (2 check-ins)" in text
    assert "Against yesterday, same hours: +2 (yesterday 2)" in text
    assert "Against the 7-day average, same hours: +3 (average 1)" in text
    assert "Health declarations" not in text
    assert len(text) < 1024, "fits a photo caption"

    chart = bytes(message["photo"])
    with Image.open(io.BytesIO(chart)) as image:
        image.verify()
    with Image.open(io.BytesIO(chart)) as image:
        assert image.format == "PNG" and image.size == (800, 320)
        colours = {colour for _, colour in image.convert("RGB").getcolors(maxcolors=1 << 16) or []}
    assert PEAK_RGB in colours, "the busiest hour is highlighted"


async def test_zero_check_ins_get_a_nudge_instead(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    bot.clock.set(at(19, 21))
    assert await bot.container.owner_summaries.queue(date(2026, 11, 19), 21) == 1
    [message] = await summaries(bot)
    assert message["_id"] == f"owner-summary:{venue.code}:2026-11-19"
    assert "chưa có ai check-in" in message["text"], "Vietnamese for an owner the bot never met"
    assert message["photo"] is None


async def test_muted_and_deactivated_venues_get_nothing(bot: BotHarness) -> None:
    muted = await make_venue(bot, "Quán tắt tiếng")
    await bot.press(OWNER, f"ven:mute:{muted.code}:1", language_code="en")
    closed = await make_venue(bot, "Quán đã đóng")
    await bot.press(OWNER, f"ven:offyes:{closed.code}", language_code="en")
    await scan_at(bot, at(19, 10), 8300, muted)
    bot.clock.set(at(19, 21))
    assert await bot.container.owner_summaries.queue(date(2026, 11, 19), 21) == 0
    assert await summaries(bot) == []


async def test_only_venues_due_at_this_hour_and_never_twice(bot: BotHarness) -> None:
    evening = await make_venue(bot, "Quán tối")
    early = await make_venue(bot, "Quán chiều", owner=OTHER_OWNER)
    await bot.press(OTHER_OWNER, f"ven:hour:{early.code}:18", language_code="en")
    late = await make_venue(bot, "Quán khuya", owner=OTHER_OWNER)
    await bot.press(OTHER_OWNER, f"ven:hour:{late.code}:23", language_code="en")
    bot.clock.set(at(19, 18))
    assert await bot.container.owner_summaries.queue(date(2026, 11, 19), 18) == 1
    assert [m["meta"]["venue"] for m in await summaries(bot)] == [early.code]
    bot.clock.set(at(19, 21))
    assert await bot.container.owner_summaries.queue(date(2026, 11, 19), 21) == 1
    assert await bot.container.owner_summaries.queue(date(2026, 11, 19), 21) == 0
    bot.clock.set(at(19, 22))
    assert await bot.container.owner_summaries.queue(date(2026, 11, 19), None) == 0, "catch-up: 23:00 not due"
    bot.clock.set(at(19, 23, 5))
    assert await bot.container.owner_summaries.queue(date(2026, 11, 19), None) == 1
    assert sorted(m["meta"]["venue"] for m in await summaries(bot)) == sorted(
        [early.code, evening.code, late.code]
    )


async def test_a_midnight_summary_reports_the_day_that_ended(bot: BotHarness) -> None:
    venue = await make_venue(bot)
    await bot.press(OWNER, f"ven:hour:{venue.code}:00", language_code="en")
    await scan_at(bot, at(19, 23, 30), 8400, venue)
    bot.clock.set(at(20, 0))
    assert await bot.container.owner_summaries.queue(date(2026, 11, 20), 0) == 1
    [message] = await summaries(bot)
    assert message["_id"] == f"owner-summary:{venue.code}:2026-11-19"
    assert "Check-ins: 1" in message["text"]


def test_summary_arithmetic_and_rendering() -> None:
    venue = Venue(
        code="K7Q2XH4M",
        name="Chợ Hôm",
        address="79 Phố Huế",
        category="market",
        regions=("vn", "vn/1"),
        capacity=None,
        owner_id=1,
        staff_ids=(),
        active=True,
        created_at=at(17, 8),
        created_day="2026-11-17",
    )
    days = [
        VenueDay("K7Q2XH4M", "2026-11-19", checkins=6, visitors=5, people=8, hours={8: 2, 9: 3, 22: 1}),
        VenueDay("K7Q2XH4M", "2026-11-18", checkins=4, visitors=4, people=4, hours={8: 1, 20: 3}),
        VenueDay("K7Q2XH4M", "2026-11-10", checkins=50, hours={8: 50}),  # before the venue existed
    ]
    summary = build_summary(venue, date(2026, 11, 19), 21, days)
    assert summary.checkins_in_window == 5
    assert summary.yesterday == 4
    assert summary.average7 == 2.0, "two days since registration: (4 + 0) / 2"
    text = render_summary(summary, gettext_for("en"), "en")
    assert "+1 (yesterday 4)" in text and "+3 (average 2)" in text
    vi = render_summary(summary, gettext_for("vi"), "vi")
    assert "Tổng kết ngày" in vi and "Giờ đông nhất: 09:00–10:00" in vi
    first = build_summary(venue, date(2026, 11, 17), 21, days)
    assert first.yesterday is None and first.average7 is None
    assert "yesterday" not in render_summary(first, gettext_for("en"), "en")
    assert covered_window(date(2026, 11, 20), 0) == (date(2026, 11, 19), 24)
    assert covered_window(date(2026, 11, 20), 7) == (date(2026, 11, 20), 7)
    png = render_hourly_chart(summary, gettext_for("vi"))
    again = render_hourly_chart(build_summary(venue, date(2026, 11, 18), 21, days), gettext_for("en"))
    assert png.startswith(b"\x89PNG") and again.startswith(b"\x89PNG") and png != again


async def test_the_use_case_queues_once_without_telegram(
    settings: Settings, repos: Repos, clock: ManualClock
) -> None:
    container = await build_container(settings, repos, clock=clock)
    hanoi = container.regions.match_province("Hà Nội")
    request = venue_request(
        name="Phở Bát Đàn",
        address="49 Bát Đàn",
        region=container.regions.match_ward(hanoi.id, "Hoàn Kiếm"),
        category="food",
        owner_id=OWNER,
    )
    clock.set(at(19, 8))
    venue = await container.venues.register(request)
    clock.set(at(19, 12, 30))
    await repos.checkins.record_visit(venue, 8500, clock.now())
    summaries_of = OwnerSummaries(
        venues=repos.venues,
        checkins=repos.checkins,
        users=repos.users,
        outbox=repos.outbox,
        clock=clock,
        tz=TZ,
    )
    clock.set(at(19, 21))
    assert await summaries_of.queue(date(2026, 11, 19), 21) == 1
    assert await summaries_of.queue(date(2026, 11, 19), 21) == 0, "never twice"
    message = await repos.outbox.get(f"owner-summary:{venue.code}:2026-11-19")
    assert message is not None and message["chat_id"] == OWNER and message["meta"]["checkins"] == 1
    assert "Phở Bát Đàn" in message["text"] and message["photo"] is not None
