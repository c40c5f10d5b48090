"""Deactivating a venue (after a confirmation) and reactivating it."""

from __future__ import annotations

import logging

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup

from bot.app.context import BotContext
from handlers.owner import access
from handlers.owner.access import VenueAction, venue_data
from handlers.owner.cards import show, show_card
from storage.models import Venue

log = logging.getLogger(__name__)


async def on_deactivate(query: CallbackQuery, context: BotContext, venue: Venue, action: VenueAction) -> None:
    _ = context.gettext
    await query.answer()
    if not venue.active:
        await show_card(query, context, venue)
        return
    await show(
        query,
        _(
            "Deactivate {venue}? Its poster stops working: people who scan it are told that the venue "
            "no longer uses QuetMa check-in. Nothing is deleted, and you can reactivate it at any time."
        ).format(venue=venue.name),
        InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        _("Yes, deactivate"), callback_data=venue_data(access.DEACTIVATE_YES, venue.code)
                    ),
                    InlineKeyboardButton(_("No, keep it"), callback_data=venue_data(access.CARD, venue.code)),
                ]
            ]
        ),
    )


async def set_active(query: CallbackQuery, context: BotContext, venue: Venue, active: bool) -> None:
    _ = context.gettext
    updated = await context.venues.set_active(venue, active)
    log.info("venue %s %s by its owner", venue.code, "reactivated" if active else "deactivated")
    await query.answer(
        _("{venue} is active again: its poster works.").format(venue=venue.name)
        if active
        else _("{venue} is deactivated: scans of its poster are refused.").format(venue=venue.name)
    )
    await show_card(query, context, updated)


async def on_deactivate_yes(
    query: CallbackQuery, context: BotContext, venue: Venue, action: VenueAction
) -> None:
    await set_active(query, context, venue, False)


async def on_reactivate(query: CallbackQuery, context: BotContext, venue: Venue, action: VenueAction) -> None:
    await set_active(query, context, venue, True)
