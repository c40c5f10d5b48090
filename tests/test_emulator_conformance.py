"""The emulator answers as Telegram does: formatting it cannot parse, length limits, 429 and 403."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot
from telegram.error import BadRequest, Forbidden, RetryAfter

from bot.app.emulator import BotApiDouble
from bot.app.emulator.formatting import FormattingError, visible_html, visible_markdown_v2
from tests.harness import TEST_TOKEN


@pytest.fixture
async def tg() -> AsyncIterator[tuple[Bot, BotApiDouble]]:
    async with BotApiDouble() as api:
        bot = Bot(TEST_TOKEN, base_url=f"{api.url}/bot", base_file_url=f"{api.url}/file/bot")
        async with bot:
            yield bot, api


@pytest.mark.parametrize(
    "text",
    ["<b>bold", "<b>x</i>", "<script>x</script>", "a </b> b", '<a title="x">no href</a>', "<b"],
)
async def test_html_telegram_cannot_parse_is_refused(tg: tuple[Bot, BotApiDouble], text: str) -> None:
    bot, api = tg
    with pytest.raises(BadRequest, match=r"(?i)parse entities"):
        await bot.send_message(1, text, parse_mode="HTML")
    assert api.calls[-1].status == 400


async def test_well_formed_html_is_accepted(tg: tuple[Bot, BotApiDouble]) -> None:
    bot, _ = tg
    message = await bot.send_message(
        1, '<b>Ba</b> &amp; <a href="https://t.me/x">link</a>', parse_mode="HTML"
    )
    assert message.message_id > 0
    assert visible_html("<i>a</i> &lt;b&gt;") == "a <b>"


@pytest.mark.parametrize("text", ["1.5", "*open", "a-b"])
async def test_markdown_v2_reserved_or_unclosed_is_refused(tg: tuple[Bot, BotApiDouble], text: str) -> None:
    bot, _ = tg
    with pytest.raises(BadRequest, match=r"(?i)parse entities"):
        await bot.send_message(1, text, parse_mode="MarkdownV2")


def test_markdown_v2_escapes_and_pairs() -> None:
    assert visible_markdown_v2(r"*bold* 1\.5 \- _it_") == "bold 1.5 - it"
    with pytest.raises(FormattingError):
        visible_markdown_v2("_x")


async def test_a_text_is_at_most_4096_characters_after_parsing(tg: tuple[Bot, BotApiDouble]) -> None:
    bot, _ = tg
    await bot.send_message(1, "a" * 4096)
    # Markup does not count: only the visible text does.
    await bot.send_message(1, "<b>" + "a" * 4096 + "</b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(1, "a" * 4097)
    sent = await bot.send_message(1, "short")
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.edit_message_text("b" * 4097, chat_id=1, message_id=sent.message_id)


async def test_a_caption_is_at_most_1024_characters(tg: tuple[Bot, BotApiDouble]) -> None:
    bot, _ = tg
    await bot.send_document(1, b"x", filename="a.txt", caption="c" * 1024)
    with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
        await bot.send_document(1, b"x", filename="a.txt", caption="c" * 1025)
    with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
        await bot.send_photo(1, "file-1", caption="c" * 1025)


async def test_429_and_403_switches(tg: tuple[Bot, BotApiDouble]) -> None:
    bot, api = tg
    api.fail("sendMessage", status=429, retry_after=3)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(1, "x")
    assert caught.value.retry_after.total_seconds() == 3
    await bot.send_message(1, "x")  # the fault was used up
    api.block(1)
    with pytest.raises(Forbidden, match="blocked"):
        await bot.send_message(1, "x")
    await bot.send_message(2, "other chats still work")
    api.unblock(1)
    await bot.send_message(1, "x")


def test_safe_html_keeps_formatting_and_defuses_the_rest() -> None:
    from bot.app.emulator.formatting import safe_html

    html = safe_html(
        '<b>Hi</b> &lt;script&gt; <a href="javascript:alert(1)">x</a> <code>&amp;</code>', "HTML"
    )
    assert html == "<b>Hi</b> &lt;script&gt; <a>x</a> <code>&amp;</code>"
    assert safe_html("<i>", "") == "&lt;i&gt;"
