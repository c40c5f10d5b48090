"""`/dashboard`: an official or admin gets a one-time link to the web dashboard (and, over https, a Mini App button)."""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Update, WebAppInfo
from telegram.constants import ChatType
from telegram.ext import Application, CommandHandler

from bot.app.context import BotContext
from bot.app.dashboard import data
from bot.signins import LINK_TTL


async def dashboard_command(update: Update, context: BotContext) -> None:
    """Send a sign-in link valid 10 minutes, used once; only to officials and admins, only in private."""
    message, user, chat = update.effective_message, update.effective_user, update.effective_chat
    if message is None or user is None or chat is None:
        return
    _ = context.gettext
    if chat.type != ChatType.PRIVATE:
        await message.reply_text(_("Please use this command in a private chat with me."))
        return
    container = context.container
    if await data.access_of(container, user.id) is None:
        await message.reply_text(_(data.NOT_OFFICIAL))
        return
    token = await container.signins.issue_link(user.id)
    base = container.settings.base_url
    link = f"{base}/dashboard/signin/{token}"
    text = _(
        "Your sign-in link to the dashboard (valid {minutes} minutes, works once; do not forward it):\n{link}"
    ).format(minutes=int(LINK_TTL.total_seconds() // 60), link=link)
    markup = None
    # Telegram opens Mini Apps from https addresses only.
    if base.startswith("https://"):
        markup = InlineKeyboardMarkup(
            [[InlineKeyboardButton(_("Open in Telegram"), web_app=WebAppInfo(f"{base}/dashboard/app"))]]
        )
    # No preview: fetching the link for a preview must not be anyone's first look at it.
    await message.reply_text(
        text, reply_markup=markup, link_preview_options=LinkPreviewOptions(is_disabled=True)
    )


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handler(CommandHandler("dashboard", dashboard_command))
