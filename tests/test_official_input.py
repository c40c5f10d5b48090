"""What officials type and press, taken as people write it and never trusted: dates, numbers, buttons."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.harness import BotHarness, button_data, texts
from tests.test_official_bot import (
    ADMIN,
    CITIZEN,
    OFFICIAL,
    OTHER,
    THIRD,
    WARD_OFFICIAL,
    audit_actions,
    become_official,
    csv_rows,
    documents,
    make_venue,
    scan,
)

CRASHED = "Đã có lỗi xảy ra"
EXPIRED = "Nút này đã hết hạn"


async def exposure_button(bot: BotHarness) -> tuple[str, str]:
    """A venue where CITIZEN checked in at 09:00, and the genuine confirmation button of its exposure preview."""
    venue = await make_venue(bot, "Quán Bún Chả Hương Liên")
    await scan(bot, CITIZEN, venue)
    bot.clock.advance(timedelta(hours=1))
    await become_official(bot, OFFICIAL, "Hà Nội")
    calls = await bot.send(OFFICIAL, f"/exposure {venue.code} 2026-11-19 08:00 2026-11-19 10:00")
    return venue.code, button_data(calls, "Gửi cảnh báo")


async def test_a_forged_exposure_confirmation_alerts_nobody(bot: BotHarness) -> None:
    code, genuine = await exposure_button(bot)
    start, end = 1763517600, 1763521200  # 2026-11-19 09:00 – 10:00 in Hanoi: a window the rules allow
    forged = [
        f"off:exp:{code}:{start}:{end}",  # never previewed
        f"off:exp:{code}:0:9999999999",  # 1970 → 2286
        genuine.rsplit(":", 2)[0] + f":{end + 3600}:" + genuine.rsplit(":", 1)[1],  # altered window
        f"off:exp:{code}:99999999999999999999:99999999999999999999:AAAAAAAAAAAAAAAA",
        f"off:exp:{code}:¹⁷⁶³⁵¹⁷⁶⁰⁰:¹⁷⁶³⁵²¹²⁰⁰:AAAAAAAAAAAAAAAA",
    ]
    for data in forged:
        said = texts(await bot.press(OFFICIAL, data))
        assert any(EXPIRED in t for t in said) and not any(CRASHED in t for t in said), (data, said)
    await become_official(bot, WARD_OFFICIAL, "Hà Nội")
    said = texts(await bot.press(WARD_OFFICIAL, genuine))
    assert any(EXPIRED in t for t in said), "a button shown to one official is not another's"
    assert await bot.repos.outbox.count(kind="exposure") == 0
    assert "exposure" not in await audit_actions(bot)

    said = texts(await bot.press(OFFICIAL, genuine))
    assert any("Đã xếp lịch gửi cảnh báo cho 1 người" in t for t in said)
    assert await bot.repos.outbox.count(kind="exposure") == 1
    assert len(genuine.encode()) <= 64, "Telegram's limit for callback data"


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/inactive ²", "Không tìm thấy địa bàn nào tên là ²"),
        ("/inactive ٣", "Không tìm thấy địa bàn nào tên là ٣"),
        ("/report 0001-01-01", "trước năm 2000"),
        ("/report 0001-01-01 Ba Đình", "trước năm 2000"),
        ("/trace K7Q2XH4M 0001-01-01 00:00 0001-01-01 01:00", "YYYY-MM-DD HH:MM"),
        ("/exposure K7Q2XH4M 0001-01-01 00:00 0001-01-01 01:00", "YYYY-MM-DD HH:MM"),
        ("/report 2026-13-01", "YYYY-MM-DD"),
    ],
)
async def test_odd_numbers_and_year_one_get_a_clear_answer(
    bot: BotHarness, command: str, expected: str
) -> None:
    await become_official(bot, OFFICIAL, "Hà Nội")
    said = texts(await bot.send(OFFICIAL, command))
    assert any(expected in t for t in said) and not any(CRASHED in t for t in said), said


async def test_admins_get_a_clear_answer_for_year_one_and_odd_buttons(bot: BotHarness) -> None:
    said = texts(await bot.send(ADMIN, "/audit 0001-01-01"))
    assert any("YYYY-MM-DD" in t for t in said) and not any(CRASHED in t for t in said), said
    for data in ("off:rev:²", "off:rev:٣", "off:sub:vn/nowhere"):
        calls = await bot.press(ADMIN, data)
        assert any(c.method == "answerCallbackQuery" for c in calls), data
        assert not any(CRASHED in t for t in texts(calls)), data


async def test_dates_are_taken_as_people_type_them(bot: BotHarness) -> None:
    venue = await make_venue(bot, "Quán A", ward="Ba Đình")
    await scan(bot, CITIZEN, venue)
    bot.clock.advance(timedelta(days=1))  # 20/11
    await become_official(bot, OFFICIAL, "Hà Nội")
    expected = "Báo cáo quét mã QR, Thành phố Hà Nội, ngày 19/11/2026"
    for args in ["19/11/2026", '"19/11/2026"', "2026-11-19", "hôm qua", "yesterday", "19 Nov 2026"]:
        said = texts(await bot.send(OFFICIAL, f"/report {args}"))[-1]
        assert expected in said, (args, said)
    ward = texts(await bot.send(OFFICIAL, "/report 19/11/2026 Ba Đình"))[-1]
    assert "Phường Ba Đình" in ward and "ngày 19/11/2026" in ward
    today = texts(await bot.send(OFFICIAL, "/report hôm nay"))[-1]
    assert "ngày 20/11/2026" in today
    calls = await bot.send(OFFICIAL, f'/trace {venue.code} "2026-11-19 08:00" "2026-11-19 12:00"')
    assert len(documents(calls)) == 1
    calls = await bot.send(OFFICIAL, f"/trace {venue.code} 19/11/2026 08:00 19/11/2026 12:00")
    assert len(documents(calls)) == 1
    assert await audit_actions(bot) == ["invite", "join", "trace", "trace"]


async def test_the_trace_csv_tells_how_each_visit_ended(bot: BotHarness) -> None:
    venue = await make_venue(bot, "Phòng khám Đức Thành")
    await scan(bot, CITIZEN, venue, first_name="Tự động")  # 09:00, automatic check-out at 11:00
    await scan(bot, OTHER, venue, first_name="Tự về")
    bot.clock.advance(timedelta(minutes=30))
    await bot.send(OTHER, "/checkout")  # 09:30, by the person
    bot.clock.advance(timedelta(hours=2))  # 11:30
    assert await bot.repos.checkins.auto_check_out(bot.clock.now()) == 1
    await scan(bot, THIRD, venue, first_name="Còn ở")  # 11:30, still there
    await become_official(bot, OFFICIAL, "Hà Nội")
    calls = await bot.send(OFFICIAL, f"/trace {venue.code} 2026-11-19 08:00 2026-11-19 12:00")
    [(_, content, _)] = documents(calls)
    rows = {row[4]: row[:3] for row in csv_rows(content)[1:]}
    assert rows == {
        "Tự về": ["2026-11-19 09:00", "2026-11-19 09:30", "tự check-out"],
        "Tự động": ["2026-11-19 09:00", "2026-11-19 11:00", "tự động check-out"],
        "Còn ở": ["2026-11-19 11:30", "", "vẫn đang có mặt"],
    }
