"""`/start`: the one entry of every deep link (poster scans and invite links), and the plain welcome.

The signed payload is verified here, once, and the update goes to what its kind does: a check-in,
joining a venue's staff, or becoming an official. So no other handler answers `/start`.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Message, Update, User
from telegram.ext import Application, CommandHandler

from bot.app.context import BotContext
from bot.i18n import Gettext
from bot.invites import JoinOutcome
from bot.officials import Actor
from bot.payload import BadPayload, PayloadKind
from handlers import citizen
from handlers.common import official_help
from handlers.official.membership import set_official_commands

log = logging.getLogger(__name__)


def refusal(_: Gettext, claimed_kind: str) -> str:
    """What to say about a payload that failed verification, worded for the link it looks like."""
    if claimed_kind == PayloadKind.STAFF_INVITE.value:
        return _("This invite link is not valid. Ask the venue's owner for a new one.")
    if claimed_kind == PayloadKind.OFFICIAL_INVITE.value:
        return _("This invite link is not valid.")
    return _("This QR code is not valid. Please scan the poster again, or type the venue code: /checkin CODE")


async def start(update: Update, context: BotContext) -> None:
    """`/start [payload]`: verify the payload once and dispatch by its kind."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    _ = context.gettext
    if not context.args:
        await message.reply_text(
            _("Welcome to QuetMa! Scan the QR poster at a venue to check in.")
            + "\n\n"
            + _("/help shows what I can do.")
        )
        return
    raw = context.args[0]
    try:
        payload = context.signer.verify(raw)
    except BadPayload as exc:
        # The claimed kind is unverified: it only picks the wording of the refusal.
        claimed = raw.partition("-")[0]
        log.info("refused a bad /start payload (%s)", exc)
        await message.reply_text(refusal(_, claimed))
        return
    if payload.kind is PayloadKind.CHECKIN:
        await citizen.check_in(message, context, payload.body)
    elif payload.kind is PayloadKind.STAFF_INVITE:
        await join_staff(message, user, context, payload.body)
    else:
        await join_officials(message, user, context, payload.body)


async def join_staff(message: Message, user: User, context: BotContext, token: str) -> None:
    """A staff invite an owner sent."""
    _ = context.gettext
    joined = await context.join_as_staff(token, Actor(user.id, user.full_name))
    venue = joined.venue.name if joined.venue else ""
    texts = {
        JoinOutcome.JOINED: _(
            "✅ You are now staff of {venue}. You can see its figures and print its poster: /myvenues, /today."
        ),
        JoinOutcome.OWNER: _("You own {venue}: send this link to the person who should become staff."),
        JoinOutcome.ALREADY_STAFF: _("You are already staff of {venue}."),
        JoinOutcome.EXPIRED: _(
            "This invite link has expired: links work for 72 hours. Ask the owner of {venue} for a new one."
        ),
        JoinOutcome.USED: _("This invite link was already used. Ask the owner of {venue} for a new one."),
        JoinOutcome.NOT_FOUND: refusal(_, PayloadKind.STAFF_INVITE.value),
    }
    await message.reply_text(texts[joined.outcome].format(venue=venue))


async def join_officials(message: Message, user: User, context: BotContext, token: str) -> None:
    """An official invite an administrator created."""
    _ = context.gettext
    joined = await context.join_as_official(token, Actor(user.id, user.full_name))
    if joined.outcome is JoinOutcome.USED:
        await message.reply_text(_("This invite link was already used. Please ask for a new one."))
        return
    if joined.outcome is JoinOutcome.EXPIRED:
        await message.reply_text(_("This invite link has expired. Please ask for a new one."))
        return
    if joined.official is None:
        log.info("refused an official invite that was never issued")
        await message.reply_text(refusal(_, PayloadKind.OFFICIAL_INVITE.value))
        return
    region = joined.official.region
    label = context.regions.label(region) if context.regions.get(region) else region
    await message.reply_text(
        _("✅ You are now a public-health official for {region}.").format(region=label)
        + "\n\n"
        + official_help(_)
    )
    await set_official_commands(context, user.id)


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handler(CommandHandler("start", start))
