"""The Bot API double speaks real Bot API to an unmodified python-telegram-bot."""

from __future__ import annotations

import asyncio
import csv
import datetime as dtm
import io
from collections.abc import AsyncIterator

import aiohttp
import pytest
from PIL import Image
from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.error import BadRequest, Conflict, EndPointNotFound, Forbidden, NetworkError, RetryAfter
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from tests.botapi import DEFAULT_BOT_ID, ApiCall, BotApiDouble, decode_param
from tests.factories import (
    callback_update,
    contact_update,
    message_update,
    photo_update,
    sticker_update,
)


@pytest.fixture
def bot_token() -> str:
    """A well-formed token; the double accepts any."""
    return "123456:TEST-token"


@pytest.fixture
async def api() -> AsyncIterator[BotApiDouble]:
    """A started double, stopped after the test."""
    async with BotApiDouble() as double:
        yield double


def build_application(api: BotApiDouble, token: str, *, with_updater: bool = False) -> Application:  # type: ignore[type-arg]
    """An Application whose bot talks to the double."""
    builder = (
        Application.builder().token(token).base_url(f"{api.url}/bot").base_file_url(f"{api.url}/file/bot")
    )
    if not with_updater:
        builder = builder.updater(None)
    return builder.build()


@pytest.fixture
async def app(api: BotApiDouble, bot_token: str) -> AsyncIterator[Application]:  # type: ignore[type-arg]
    """An initialized Application without an updater, as behind the webhook server."""
    application = build_application(api, bot_token)
    await application.initialize()
    yield application
    await application.shutdown()


def png_bytes(width: int, height: int) -> bytes:
    """A small PNG image."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(buffer, format="PNG")
    return buffer.getvalue()


# -- getMe and sending ----------------------------------------------------------------------------


async def test_initialize_reads_the_bot_identity_from_get_me(app: Application, api: BotApiDouble) -> None:  # type: ignore[type-arg]
    assert app.bot.username == "quetma_test_bot"
    assert app.bot.id == DEFAULT_BOT_ID
    assert [call.method for call in api.calls] == ["getMe"]


async def test_get_me_username_is_configurable(bot_token: str) -> None:
    async with BotApiDouble(username="other_bot", bot_id=42) as double:
        application = build_application(double, bot_token)
        async with application:
            assert application.bot.username == "other_bot"
            assert application.bot.id == 42


async def test_send_message_records_decoded_parameters(app: Application, api: BotApiDouble) -> None:  # type: ignore[type-arg]
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Check in", callback_data="checkin:7")]])

    first = await app.bot.send_message(chat_id=1001, text="Xin chào", reply_markup=keyboard)
    second = await app.bot.send_message(chat_id=1001, text="[1, 2]", disable_notification=True)

    assert first.chat.id == 1001
    assert first.chat.type == "private"
    assert first.from_user is not None
    assert first.from_user.username == "quetma_test_bot"
    assert first.text == "Xin chào"
    assert first.reply_markup == keyboard
    assert second.message_id > first.message_id
    call = api.calls_of("sendMessage")[0]
    assert call.chat_id == 1001
    assert call.status == 200
    assert call.params["reply_markup"] == {
        "inline_keyboard": [[{"text": "Check in", "callback_data": "checkin:7"}]]
    }
    assert api.calls_of("sendMessage")[1].params["disable_notification"] is True
    # Free text is never decoded, even when it looks like JSON.
    assert api.sent_texts(1001) == ["Xin chào", "[1, 2]"]
    assert api.sent_texts(2002) == []


async def test_send_photo_keeps_the_uploaded_png(app: Application, api: BotApiDouble) -> None:  # type: ignore[type-arg]
    message = await app.bot.send_photo(chat_id=5, photo=png_bytes(37, 21), caption="Mã QR")

    largest = message.photo[-1]
    assert largest.file_id
    assert largest.file_unique_id
    assert (largest.width, largest.height) == (37, 21)
    assert message.caption == "Mã QR"
    call = api.calls_of("sendPhoto")[0]
    _, content = call.files["photo"]
    with Image.open(io.BytesIO(content)) as image:
        assert image.size == (37, 21)
    assert api.sent_texts(5) == ["Mã QR"]


async def test_send_photo_by_file_id_echoes_it(app: Application, api: BotApiDouble) -> None:  # type: ignore[type-arg]
    message = await app.bot.send_photo(chat_id=5, photo="file-abc")

    assert message.photo[-1].file_id == "file-abc"
    assert api.calls_of("sendPhoto")[0].files == {}


async def test_send_document_keeps_the_csv_and_serves_it_back(app: Application, api: BotApiDouble) -> None:  # type: ignore[type-arg]
    payload = "venue,visits\nCafé Sài Gòn,12\n".encode()

    message = await app.bot.send_document(
        chat_id=6, document=payload, filename="visits.csv", caption="Báo cáo"
    )

    assert message.document is not None
    assert message.document.file_name == "visits.csv"
    assert message.document.mime_type == "text/csv"
    assert message.document.file_size == len(payload)
    filename, content = api.calls_of("sendDocument")[0].files["document"]
    assert filename == "visits.csv"
    assert list(csv.reader(io.StringIO(content.decode()))) == [["venue", "visits"], ["Café Sài Gòn", "12"]]
    telegram_file = await app.bot.get_file(message.document.file_id)
    assert bytes(await telegram_file.download_as_bytearray()) == payload


async def test_answer_callback_query_and_commands_round_trip(app: Application, api: BotApiDouble) -> None:  # type: ignore[type-arg]
    assert await app.bot.answer_callback_query("987", text="Đã ghi nhận", show_alert=True)
    commands = [BotCommand("start", "Bắt đầu"), BotCommand("help", "Trợ giúp")]
    assert await app.bot.set_my_commands(commands, language_code="vi")

    assert await app.bot.get_my_commands(language_code="vi") == tuple(commands)
    assert await app.bot.get_my_commands() == ()
    answer = api.calls_of("answerCallbackQuery")[0]
    assert answer.params == {"callback_query_id": "987", "text": "Đã ghi nhận", "show_alert": True}
    assert api.calls_of("setMyCommands")[0].params["commands"] == [
        {"command": "start", "description": "Bắt đầu"},
        {"command": "help", "description": "Trợ giúp"},
    ]
    assert await app.bot.delete_my_commands(language_code="vi")
    assert await app.bot.get_my_commands(language_code="vi") == ()


async def test_edit_and_delete_a_sent_message(app: Application, api: BotApiDouble) -> None:  # type: ignore[type-arg]
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("OK", callback_data="ok")]])
    sent = await app.bot.send_message(chat_id=9, text="Trước", reply_markup=keyboard)

    edited = await app.bot.edit_message_text("Sau", chat_id=9, message_id=sent.message_id)
    assert isinstance(edited, type(sent))
    assert edited.text == "Sau"
    assert edited.message_id == sent.message_id
    assert edited.reply_markup is None
    assert edited.edit_date is not None
    remarked = await app.bot.edit_message_reply_markup(
        chat_id=9, message_id=sent.message_id, reply_markup=keyboard
    )
    assert isinstance(remarked, type(sent))
    assert remarked.reply_markup == keyboard
    assert await app.bot.delete_message(chat_id=9, message_id=sent.message_id)
    assert await app.bot.send_chat_action(chat_id=9, action="typing")
    assert api.sent_texts(9) == ["Trước", "Sau"]


async def test_unknown_method_answers_404(app: Application, api: BotApiDouble) -> None:  # type: ignore[type-arg]
    with pytest.raises(EndPointNotFound):
        await app.bot.do_api_request("noSuchMethod", api_kwargs={"x": 1})
    assert api.calls[-1].method == "noSuchMethod"
    assert api.calls[-1].status == 404


async def test_json_and_query_string_requests_are_accepted(api: BotApiDouble, bot_token: str) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{api.url}/bot{bot_token}/sendmessage", json={"chat_id": 3, "text": "json body"}
        ) as response:
            body = await response.json()
        async with session.get(f"{api.url}/bot{bot_token}/getMe") as response:
            me = await response.json()

    assert body["ok"] is True
    assert body["result"]["chat"]["id"] == 3
    assert me["result"]["username"] == "quetma_test_bot"
    assert api.calls_of("sendMessage")[0].params == {"chat_id": 3, "text": "json body"}


def test_decode_param_restores_what_ptb_encoded() -> None:
    assert decode_param("chat_id", "-100123") == -100123
    assert decode_param("chat_id", "@channel") == "@channel"
    assert decode_param("reply_markup", '{"inline_keyboard": []}') == {"inline_keyboard": []}
    assert decode_param("show_alert", "true") is True
    assert decode_param("text", "42") == "42"
    assert decode_param("text", "true") == "true"
    assert decode_param("callback_data", "[1]") == [1]


# -- handlers fed with factory updates -----------------------------------------------------------


async def test_command_handler_replies_to_a_factory_update(app: Application, api: BotApiDouble) -> None:  # type: ignore[type-arg]
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(f"Chào {context.args}")

    app.add_handler(CommandHandler("start", start))

    await app.process_update(Update.de_json(message_update(4242, "/start venue-7"), app.bot))

    call = api.calls_of("sendMessage")[0]
    assert call.chat_id == 4242
    assert call.text == "Chào ['venue-7']"


async def test_callback_handler_answers_and_edits(app: Application, api: BotApiDouble) -> None:  # type: ignore[type-arg]
    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("OK")
        await query.edit_message_text(f"Bạn chọn {query.data}")

    app.add_handler(CallbackQueryHandler(pressed))

    await app.process_update(Update.de_json(callback_update(31, "lang:en", message_id=77), app.bot))

    edit = api.calls_of("editMessageText")[0]
    assert edit.status == 200
    assert (edit.chat_id, edit.params["message_id"], edit.text) == (31, 77, "Bạn chọn lang:en")
    assert api.calls_of("answerCallbackQuery")[0].params["text"] == "OK"


async def test_factories_build_updates_ptb_understands(app: Application) -> None:  # type: ignore[type-arg]
    command = Update.de_json(message_update(8, "/checkin@quetma_test_bot abc", username="an_nguyen"), app.bot)
    contact = Update.de_json(contact_update(8, "+84901234567"), app.bot)
    sticker = Update.de_json(sticker_update(8), app.bot)
    photo = Update.de_json(photo_update(8, caption="ảnh"), app.bot)

    assert command.message is not None
    assert command.message.parse_entities() == {command.message.entities[0]: "/checkin@quetma_test_bot"}
    assert command.effective_chat is not None
    assert command.effective_chat.id == 8
    assert command.effective_user is not None
    assert command.effective_user.language_code == "vi"
    assert command.effective_user.username == "an_nguyen"
    assert contact.message is not None
    assert contact.message.contact is not None
    assert contact.message.contact.phone_number == "+84901234567"
    assert contact.message.contact.user_id == 8
    assert sticker.message is not None
    assert sticker.message.sticker is not None
    assert photo.message is not None
    assert photo.message.photo[-1].width == 800
    assert photo.message.caption == "ảnh"
    assert len({command.update_id, contact.update_id, sticker.update_id, photo.update_id}) == 4
    assert message_update(8, "hello")["message"].get("entities") is None


# -- fault injection -----------------------------------------------------------------------------


async def test_429_raises_retry_after_once(
    app: Application,  # type: ignore[type-arg]
    api: BotApiDouble,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Opt in to PTB's timedelta retry_after; the int form warns, and warnings are errors here.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    api.fail("sendMessage", status=429, retry_after=7)

    with pytest.raises(RetryAfter) as raised:
        await app.bot.send_message(chat_id=1, text="a")
    await app.bot.send_message(chat_id=1, text="b")

    assert raised.value.retry_after == dtm.timedelta(seconds=7)
    assert [call.status for call in api.calls_of("sendMessage")] == [429, 200]
    assert api.sent_texts(1) == ["b"]


async def test_403_raises_forbidden(app: Application, api: BotApiDouble) -> None:  # type: ignore[type-arg]
    api.fail("sendMessage", status=403, count=2)

    for _ in range(2):
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await app.bot.send_message(chat_id=1, text="a")
    await app.bot.send_message(chat_id=1, text="b")

    assert [call.status for call in api.calls_of("sendMessage")] == [403, 403, 200]


async def test_fault_for_one_chat_spares_the_others(app: Application, api: BotApiDouble) -> None:  # type: ignore[type-arg]
    api.fail("sendMessage", status=400, chat_id=2, description="Bad Request: chat not found")

    await app.bot.send_message(chat_id=1, text="to 1")
    with pytest.raises(BadRequest, match="Chat not found"):
        await app.bot.send_message(chat_id=2, text="to 2")
    await app.bot.send_message(chat_id=2, text="to 2 again")

    assert api.sent_texts() == ["to 1", "to 2 again"]


async def test_500_raises_network_error(app: Application, api: BotApiDouble) -> None:  # type: ignore[type-arg]
    api.fail("sendPhoto", status=500)

    with pytest.raises(NetworkError, match="Internal Server Error"):
        await app.bot.send_photo(chat_id=1, photo=png_bytes(2, 2))
    assert api.calls_of("sendPhoto")[0].status == 500


async def test_blocked_chat_answers_403_until_unblocked(app: Application, api: BotApiDouble) -> None:  # type: ignore[type-arg]
    api.block(12)

    with pytest.raises(Forbidden):
        await app.bot.send_message(chat_id=12, text="x")
    with pytest.raises(Forbidden):
        await app.bot.send_document(chat_id=12, document=b"a,b\n", filename="r.csv")
    await app.bot.send_message(chat_id=13, text="other chat")
    api.unblock(12)
    await app.bot.send_message(chat_id=12, text="welcome back")

    assert api.sent_texts(12) == ["welcome back"]


# -- waiting -------------------------------------------------------------------------------------


async def test_wait_for_returns_once_enough_calls_arrived(app: Application, api: BotApiDouble) -> None:  # type: ignore[type-arg]
    async def send_three() -> None:
        for index in range(3):
            await app.bot.send_message(chat_id=20 + index, text=f"n{index}")

    sender = asyncio.create_task(send_three())
    calls = await api.wait_for("sendMessage", count=2, predicate=lambda call: call.chat_id != 21)
    await sender

    assert [call.text for call in calls] == ["n0", "n2"]
    assert all(isinstance(call, ApiCall) for call in calls)


async def test_wait_for_times_out_with_a_useful_message(app: Application, api: BotApiDouble) -> None:  # type: ignore[type-arg]
    await app.bot.send_message(chat_id=1, text="only one")

    with pytest.raises(AssertionError, match=r"2 sendMessage call\(s\).*got 1.*only one"):
        await api.wait_for("sendMessage", count=2, timeout=0.05)


async def test_clear_forgets_calls(app: Application, api: BotApiDouble) -> None:  # type: ignore[type-arg]
    await app.bot.send_message(chat_id=1, text="before")
    api.clear()
    await app.bot.send_message(chat_id=1, text="after")

    assert api.sent_texts() == ["after"]
    assert len(await api.wait_for("sendMessage")) == 1


# -- long polling and webhooks -------------------------------------------------------------------


async def test_get_updates_honours_offset_and_limit(app: Application, api: BotApiDouble) -> None:  # type: ignore[type-arg]
    ids = [api.push_update(message_update(1, f"m{index}")) for index in range(3)]

    first = await app.bot.get_updates(limit=2)
    assert [update.update_id for update in first] == ids[:2]
    assert api.pending_updates == 3
    rest = await app.bot.get_updates(offset=ids[1] + 1)
    assert [update.update_id for update in rest] == ids[2:]
    assert api.pending_updates == 1
    assert await app.bot.get_updates(offset=ids[2] + 1, timeout=0) == ()
    assert api.pending_updates == 0


async def test_get_updates_holds_until_an_update_is_pushed(app: Application, api: BotApiDouble) -> None:  # type: ignore[type-arg]
    poll = asyncio.create_task(app.bot.get_updates(timeout=30))
    await api.wait_for_poll()
    assert not poll.done()
    assert api.calls_of("getUpdates") == []

    update_id = api.push_update(message_update(2, "wake up"))
    updates = await asyncio.wait_for(poll, timeout=5)

    assert [update.update_id for update in updates] == [update_id]
    assert updates[0].message is not None
    assert updates[0].message.text == "wake up"


async def test_webhook_blocks_get_updates_until_deleted(app: Application, api: BotApiDouble) -> None:  # type: ignore[type-arg]
    assert await app.bot.set_webhook("https://example.org/telegram", secret_token="s3cret")
    api.push_update(message_update(1, "queued"))

    info = await app.bot.get_webhook_info()
    assert info.url == "https://example.org/telegram"
    assert info.pending_update_count == 1
    assert api.webhook_url == "https://example.org/telegram"
    with pytest.raises(Conflict):
        await app.bot.get_updates()
    assert await app.bot.delete_webhook(drop_pending_updates=True)
    assert api.pending_updates == 0
    assert await app.bot.get_updates(timeout=0) == ()


async def test_polling_application_receives_a_pushed_update_and_replies(
    api: BotApiDouble, bot_token: str
) -> None:
    application = build_application(api, bot_token, with_updater=True)

    async def ping(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text("pong")

    application.add_handler(CommandHandler("ping", ping))
    async with application:
        assert application.updater is not None
        await application.start()
        await application.updater.start_polling(poll_interval=0, timeout=1)
        api.push_update(message_update(555, "/ping"))
        calls = await api.wait_for("sendMessage", predicate=lambda call: call.chat_id == 555)
        await application.updater.stop()
        await application.stop()

    assert calls[0].text == "pong"
    assert api.calls_of("deleteWebhook")
    assert api.pending_updates == 0
