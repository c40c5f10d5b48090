"""The sender's own Bot and the one Bot API call that sends a queued message."""

from __future__ import annotations

from telegram import Bot, InlineKeyboardMarkup, Message

from bot.app.settings import Settings
from bot.app.telegram_http import AiohttpRequest
from storage.outbox import QueuedMessage


def build_sender_bot(settings: Settings, *, connections: int = 100) -> Bot:
    """A Bot of its own for the sender, so broadcasts never take the connections replies need."""
    assert settings.bot_token is not None  # noqa: S101 - checked by the CLI
    api = settings.telegram_api_url
    return Bot(
        settings.bot_token.get_secret_value(),
        base_url=f"{api}/bot",
        base_file_url=f"{api}/file/bot",
        request=AiohttpRequest(connection_pool_size=connections),
        get_updates_request=AiohttpRequest(connection_pool_size=1),
    )


async def send_queued(bot: Bot, message: QueuedMessage, *, paid_broadcast: bool) -> Message:
    """Send one outbox message: a photo, a document or a text, with its buttons."""
    markup = InlineKeyboardMarkup.de_json(message.reply_markup, bot) if message.reply_markup else None
    paid = True if paid_broadcast else None
    parse_mode = message.meta.get("parse_mode")
    if message.photo is not None:
        return await bot.send_photo(
            message.chat_id,
            photo=message.photo,
            caption=message.text or None,
            parse_mode=parse_mode,
            reply_markup=markup,
            filename=message.filename,
            allow_paid_broadcast=paid,
        )
    if message.document is not None:
        return await bot.send_document(
            message.chat_id,
            document=message.document,
            filename=message.filename or "document",
            caption=message.text or None,
            parse_mode=parse_mode,
            reply_markup=markup,
            allow_paid_broadcast=paid,
        )
    return await bot.send_message(
        message.chat_id,
        message.text,
        parse_mode=parse_mode,
        reply_markup=markup,
        allow_paid_broadcast=paid,
    )
