"""Typed settings: the capacity and other automatic check-out times are asked for and typed.

Asking is a conversation step (see handlers.owner.conversation): the venue waits in user_data
while the owner types, and ownership is checked again when the answer arrives.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import ConversationHandler

from bot.app.context import BotContext
from bot.i18n import Gettext
from bot.venues import InvalidInput, parse_auto_checkout, parse_capacity
from handlers.owner import access
from handlers.owner.access import venue_data
from handlers.owner.cards import show
from handlers.owner.venue_settings import settings_keyboard, settings_text
from handlers.owner.venues import venue_button
from storage.models import Venue

log = logging.getLogger(__name__)

EDIT_KEY = "venue_edit"
EDIT_CAPACITY = "edit_capacity"
EDIT_AUTO_CHECKOUT = "edit_auto_checkout"

T = TypeVar("T")


def capacity_prompt(_: Gettext, venue: Venue) -> tuple[str, InlineKeyboardMarkup]:
    current = (
        _("Now: {capacity} people.").format(capacity=venue.capacity) if venue.capacity else _("Now: not set.")
    )
    text = "\n".join(
        [
            _(
                "How many people can be inside {venue} at once? Send a number. When that many are "
                "checked in, you and your staff get one alert."
            ).format(venue=venue.name),
            current,
        ]
    )
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    _("No limit"), callback_data=venue_data(access.CAPACITY_NONE, venue.code)
                ),
                InlineKeyboardButton(_("« Back"), callback_data=venue_data(access.SETTINGS, venue.code)),
            ]
        ]
    )
    return text, markup


async def ask_typed_setting(
    update: Update,
    context: BotContext,
    prompt: Callable[[Gettext, Venue], tuple[str, InlineKeyboardMarkup]],
    state: str,
) -> str | int:
    """A settings button that asks the owner to type a value: remember the venue, show `prompt`."""
    pressed = await access.pressed_venue(update, context)
    query = update.callback_query
    if pressed is None or query is None or context.user_data is None:
        return ConversationHandler.END
    venue, _action = pressed
    context.user_data[EDIT_KEY] = venue.code
    await query.answer()
    text, markup = prompt(context.gettext, venue)
    await show(query, text, markup)
    return state


async def typed_for_venue(update: Update, context: BotContext) -> tuple[Message, Venue] | None:
    """The message with a typed setting and its venue, if the sender may still manage it.

    None ends the question: no message to read, or the venue is gone or no longer theirs (told so).
    """
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None or context.user_data is None:
        return None
    _ = context.gettext
    code = context.user_data.get(EDIT_KEY)
    venue = await context.venues.get(code) if isinstance(code, str) else None
    if venue is None or not venue.can_manage(user.id):
        context.user_data.pop(EDIT_KEY, None)
        await message.reply_text(_("Only the venue's owner can change its settings and staff."))
        return None
    return message, venue


async def typed_value(
    update: Update,
    context: BotContext,
    parse: Callable[[str], T],
    again: Callable[[Gettext], str],
    state: str,
) -> tuple[Message, Venue, T] | str | int:
    """The typed answer parsed, with its message and venue; else the state to return.

    A value `parse` refuses is answered with the reason and `again`, and asked for again (`state`);
    a venue the sender may no longer manage ends the question.
    """
    typed = await typed_for_venue(update, context)
    if typed is None or context.user_data is None:
        return ConversationHandler.END
    message, venue = typed
    try:
        return message, venue, parse(message.text or "")
    except InvalidInput as exc:
        _ = context.gettext
        await message.reply_text(_(str(exc)) + "\n" + again(_))
        return state


async def typed_setting_saved(
    message: Message, context: BotContext, updated: Venue, note: str | None = None
) -> int:
    """A typed setting is stored: end the question and show the settings, after `note` if any."""
    if context.user_data is not None:
        context.user_data.pop(EDIT_KEY, None)
    _ = context.gettext
    text = settings_text(_, updated, context.lang)
    await message.reply_text(
        f"{note}\n\n{text}" if note else text, reply_markup=settings_keyboard(_, updated)
    )
    return ConversationHandler.END


async def ask_capacity(update: Update, context: BotContext) -> str | int:
    """The Capacity button: ask for a number (owner only)."""
    return await ask_typed_setting(update, context, capacity_prompt, EDIT_CAPACITY)


async def got_capacity(update: Update, context: BotContext) -> str | int:
    """A typed capacity: re-check ownership, validate, store, show the settings."""
    typed = await typed_value(update, context, parse_capacity, capacity_again, EDIT_CAPACITY)
    if not isinstance(typed, tuple):
        return typed
    message, venue, capacity = typed
    if capacity is None:
        _ = context.gettext
        await message.reply_text(_("Please send a whole number of people, for example 40."))
        return EDIT_CAPACITY
    updated = await context.venues.set_capacity(venue, capacity)
    return await typed_setting_saved(message, context, updated)


def capacity_again(_: Gettext) -> str:
    return _("Send the capacity again, or /cancel.")


def minutes_again(_: Gettext) -> str:
    return _("Send the number of minutes again, or /cancel.")


def auto_checkout_prompt(_: Gettext, venue: Venue) -> tuple[str, InlineKeyboardMarkup]:
    text = "\n".join(
        [
            _(
                "After how many minutes should a visit at {venue} end by itself? Send a whole number "
                "from 15 to 1440 (24 hours)."
            ).format(venue=venue.name),
            _("Now: {minutes} minutes. /cancel keeps it.").format(
                minutes=venue.settings.auto_checkout_minutes
            ),
        ]
    )
    markup = InlineKeyboardMarkup(
        [[InlineKeyboardButton(_("« Back"), callback_data=venue_data(access.AUTOS, venue.code))]]
    )
    return text, markup


async def ask_auto_checkout(update: Update, context: BotContext) -> str | int:
    """The "Other value" button of automatic check-out: ask for minutes (owner only)."""
    return await ask_typed_setting(update, context, auto_checkout_prompt, EDIT_AUTO_CHECKOUT)


async def got_auto_checkout(update: Update, context: BotContext) -> str | int:
    """Typed minutes: re-check ownership, validate, store, show the settings."""
    typed = await typed_value(update, context, parse_auto_checkout, minutes_again, EDIT_AUTO_CHECKOUT)
    if not isinstance(typed, tuple):
        return typed
    message, venue, minutes = typed
    _ = context.gettext
    updated = await context.venues.set_auto_checkout(venue, minutes)
    log.info("venue %s: automatic check-out typed by the owner", venue.code)
    done = _("Visits now end by themselves after {minutes} minutes.").format(minutes=minutes)
    return await typed_setting_saved(message, context, updated, done)


async def reask_auto_checkout(update: Update, context: BotContext) -> str:
    """A photo, sticker or anything but text while minutes are asked for."""
    _ = context.gettext
    if update.effective_message is not None:
        await update.effective_message.reply_text(
            _("Please send a number of minutes, for example 45.") + "\n" + minutes_again(_)
        )
    return EDIT_AUTO_CHECKOUT


async def leave_edit(update: Update, context: BotContext) -> int:
    """Another venue button while a typed value is asked for: stop asking and do what it says."""
    if context.user_data is not None:
        context.user_data.pop(EDIT_KEY, None)
    await venue_button(update, context)
    return ConversationHandler.END
