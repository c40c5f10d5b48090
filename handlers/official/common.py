"""What every official's command shares: the access guard, how refusals and answers are told."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ChatType

from bot.app.context import BotContext
from bot.i18n import Gettext
from bot.officials import Access, Actor, Refused
from bot.regions import UnknownRegion

OfficialHandler = Callable[[Update, BotContext, Access], Awaitable[None]]


def actor_of(update: Update) -> Actor:
    user = update.effective_user
    assert user is not None  # noqa: S101 - checked by the wrappers
    return Actor(user.id, user.full_name)


async def tell(update: Update, text: str) -> None:
    """Answer a command with a message, or a button press with an alert."""
    if update.callback_query is not None:
        await update.callback_query.answer(text[:200], show_alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text)


async def tell_with_buttons(update: Update, text: str, markup: InlineKeyboardMarkup) -> None:
    if update.effective_message is not None:
        await update.effective_message.reply_text(text, reply_markup=markup)


def unknown_region_text(_: Gettext, exc: UnknownRegion) -> str:
    text = _("I don't know a region called {name}.").format(name=exc.query)
    if exc.suggestions:
        names = "; ".join(region.name for region in exc.suggestions)
        text += " " + _("Did you mean: {names}?").format(names=names)
    return text


def guarded(
    handler: OfficialHandler, *, admin: bool = False
) -> Callable[[Update, BotContext], Coroutine[Any, Any, None]]:
    """Run a handler for officials (or admins) only, in private chats; refusals become a clear answer."""

    async def run(update: Update, context: BotContext) -> None:
        user = update.effective_user
        chat = update.effective_chat
        if user is None or chat is None:
            return
        _ = context.gettext
        if chat.type != ChatType.PRIVATE:
            await tell(update, _("Please use this command in a private chat with me."))
            return
        rules = context.officials.access
        try:
            access = rules.require_admin(user.id) if admin else await rules.require_official(user.id)
            await handler(update, context, access)
        except Refused as refusal:
            await tell(update, refusal.text(_))
        except UnknownRegion as exc:
            await tell(update, unknown_region_text(_, exc))

    return run
