"""Venue buttons: their callback data, and who may press them.

Callback data is `ven:<action>:<venue code>[:<argument>]`. It names a venue, so anyone could
send it for any venue: every press loads the venue and checks the presser's role first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from telegram import Update

from bot.app.context import BotContext
from bot.payload import CODE_SHAPE
from storage.models import Venue

log = logging.getLogger(__name__)

PREFIX = "ven:"
LIST_PREFIX = "venlist:"

# What staff may do too; everything else is the owner's.
CARD = "card"
POSTER = "poster"
TODAY = "today"
VIEW_ACTIONS = frozenset({CARD, POSTER, TODAY})

SETTINGS = "set"
HOURS = "hours"
HOUR = "hour"
AUTOS = "autos"
AUTO = "auto"
AUTO_ASK = "autoask"
HEALTH = "health"
MUTE = "mute"
CAPACITY = "cap"
CAPACITY_NONE = "capnone"
STAFF = "staff"
INVITE = "invite"
REVOKE = "revoke"
UNSTAFF = "unstaff"
DEACTIVATE = "off"
DEACTIVATE_YES = "offyes"
REACTIVATE = "on"
MANAGE_ACTIONS = frozenset(
    {
        SETTINGS,
        HOURS,
        HOUR,
        AUTOS,
        AUTO,
        AUTO_ASK,
        HEALTH,
        MUTE,
        CAPACITY,
        CAPACITY_NONE,
        STAFF,
        INVITE,
        REVOKE,
        UNSTAFF,
        DEACTIVATE,
        DEACTIVATE_YES,
        REACTIVATE,
    }
)


@dataclass(frozen=True)
class VenueAction:
    """A parsed venue button."""

    action: str
    code: str
    argument: str | None = None

    @property
    def manages(self) -> bool:
        return self.action in MANAGE_ACTIONS


def venue_data(action: str, code: str, argument: object | None = None) -> str:
    """Callback data for a venue button (at most 64 bytes)."""
    data = f"{PREFIX}{action}:{code}" if argument is None else f"{PREFIX}{action}:{code}:{argument}"
    if len(data.encode()) > 64:
        raise ValueError("callback data over 64 bytes")
    return data


def parse_venue_data(data: str) -> VenueAction | None:
    """The action a venue button asks for; None when the data is not a well-formed venue button."""
    if not data.startswith(PREFIX):
        return None
    parts = data.removeprefix(PREFIX).split(":")
    if len(parts) not in (2, 3):
        return None
    action, code = parts[0], parts[1]
    if action not in VIEW_ACTIONS | MANAGE_ACTIONS or not CODE_SHAPE.match(code):
        return None
    argument = parts[2] if len(parts) == 3 else None
    return VenueAction(action=action, code=code, argument=argument)


async def pressed_venue(update: Update, context: BotContext) -> tuple[Venue, VenueAction] | None:
    """The venue a button press acts on, when the presser may do that; otherwise say why and return None."""
    query = update.callback_query
    user = update.effective_user
    if query is None or query.data is None or user is None:
        return None
    _ = context.gettext
    action = parse_venue_data(query.data)
    if action is None:
        await query.answer(_("This button has expired."))
        return None
    venue = await context.venues.get(action.code)
    if venue is None or not venue.can_view(user.id):
        log.info("refused %s on venue %s to a non-member", action.action, action.code)
        await query.answer(_("This is not your venue: only its owner and staff can see it."), show_alert=True)
        return None
    if action.manages and not venue.can_manage(user.id):
        log.info("refused %s on venue %s to staff", action.action, action.code)
        await query.answer(_("Only the venue's owner can change its settings and staff."), show_alert=True)
        return None
    return venue, action
