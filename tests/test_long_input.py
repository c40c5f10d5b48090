"""Input near Telegram's limits: what is echoed back is capped, what is matched is refused early."""

from __future__ import annotations

import pytest

from bot.payload import normalize_code
from bot.regions import UnknownRegion
from bot.text import ECHO_LIMIT, fit_message, utf16_length
from tests.botapi import ApiCall
from tests.harness import BotHarness, texts
from tests.test_official_bot import ADMIN, become_official

OFFICIAL = 6101
OWNER = 6102
CITIZEN = 6103
MESSAGE_LIMIT = 4096
LONG = "Phường Ba Đình " * 330  # about 5,000 characters


def sent_texts_fit(calls: list[ApiCall]) -> None:
    for call in calls:
        text = call.params.get("text") or ""
        caption = call.params.get("caption") or ""
        assert len(str(text)) <= MESSAGE_LIMIT and len(str(caption)) <= 1024, (call.method, len(str(text)))


@pytest.mark.parametrize(
    "command",
    ["/report", "/subscribe", "/inactive", "/inactive 7", "/trace", "/exposure", "/audit", "/checkin"],
)
async def test_a_long_argument_gets_a_short_friendly_answer(bot: BotHarness, command: str) -> None:
    await become_official(bot, OFFICIAL, "Hà Nội")
    calls = await bot.send(OFFICIAL, f"{command} {LONG}", language_code="en")
    said = texts(calls)
    sent_texts_fit(calls)
    assert said and not any("Something went wrong" in t or "Đã có lỗi" in t for t in said), said
    assert all(len(t) < 1000 for t in said), [len(t) for t in said]


async def test_an_admin_inviting_for_a_long_region_name_is_told_briefly(bot: BotHarness) -> None:
    calls = await bot.send(ADMIN, f"/invite {LONG} 24h", language_code="en")
    said = texts(calls)
    assert said and all(len(t) < 1000 for t in said), [len(t) for t in said]


def test_long_text_names_no_region_and_is_quoted_briefly(bot: BotHarness) -> None:
    regions = bot.container.regions
    hanoi = regions.match_province("Hà Nội")
    with pytest.raises(UnknownRegion) as refused:
        regions.match_province("Hà Nội " + LONG)
    assert len(refused.value.query) <= ECHO_LIMIT and refused.value.query.endswith("…")
    with pytest.raises(UnknownRegion):
        regions.resolve(f"{LONG}, Hà Nội")
    with pytest.raises(UnknownRegion):
        regions.match_ward(hanoi.id, LONG)
    assert regions.search_wards(hanoi.id, LONG) == []
    assert regions.match_province("Hà Nội").id == hanoi.id


def test_a_long_typed_code_is_no_code() -> None:
    assert normalize_code("K7Q2-XH4M") == "K7Q2XH4M"
    assert normalize_code("K7Q2XH4M" + " " * 5000) is None


def test_a_message_is_cut_to_what_telegram_takes() -> None:
    lines = "\n".join(f"{n}. 🏥 Phòng khám" for n in range(1000))
    fitted = fit_message(lines)
    assert utf16_length(fitted) <= 4096 and fitted.endswith("…")
    assert fitted.removesuffix("…") == lines[: len(fitted) - 1], "cut at a line end"
    assert fit_message("short") == "short"
