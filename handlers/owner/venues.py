"""The dispatch table of venue buttons: who may press is checked once, then one action runs.

The callback-data grammar and the access check live in handlers.owner.access; each action lives
with its concept (cards, posters, today, settings, activation, staff).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import CallbackQuery, Update

from bot.app.context import BotContext
from handlers.owner import access, activation, cards, posters, staff, today, venue_settings
from handlers.owner.access import VenueAction
from storage.models import Venue

Action = Callable[[CallbackQuery, BotContext, Venue, VenueAction], Awaitable[None]]

ACTIONS: dict[str, Action] = {
    access.CARD: cards.on_card,
    access.POSTER: posters.on_poster,
    access.TODAY: today.on_today,
    access.SETTINGS: venue_settings.on_settings,
    access.HOURS: venue_settings.on_hours,
    access.HOUR: venue_settings.on_hour,
    access.AUTOS: venue_settings.on_autos,
    access.AUTO: venue_settings.on_auto,
    access.HEALTH: venue_settings.on_health,
    access.MUTE: venue_settings.on_mute,
    access.CAPACITY_NONE: venue_settings.on_capacity_none,
    access.DEACTIVATE: activation.on_deactivate,
    access.DEACTIVATE_YES: activation.on_deactivate_yes,
    access.REACTIVATE: activation.on_reactivate,
    access.STAFF: staff.on_staff,
    access.INVITE: staff.on_invite,
    access.REVOKE: staff.on_revoke,
    access.UNSTAFF: staff.on_unstaff,
}


async def venue_button(update: Update, context: BotContext) -> None:
    """Every `ven:` button outside a conversation step: check who pressed it, then act."""
    pressed = await access.pressed_venue(update, context)
    query = update.callback_query
    if pressed is None or query is None:
        return
    venue, action = pressed
    handler = ACTIONS.get(action.action)
    if handler is None:  # typed settings are conversation steps; a stale press lands here
        _ = context.gettext
        await query.answer(_("This button has expired."))
        return
    await handler(query, context, venue, action)
