"""Staff: one-time invite links, joining through one, listing and removing staff."""

from __future__ import annotations

import logging
from collections.abc import Callable

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.app.context import BotContext
from bot.i18n import Gettext, gettext_for
from bot.payload import BadPayload, PayloadKind, new_token, verify_payload
from bot.presence import recipient_languages
from handlers.owner import access
from handlers.owner.access import VenueAction, venue_data
from storage.errors import NotFound
from storage.models import Venue
from storage.outbox import OutboundMessage
from storage.staff import InviteExpired, InviteUsed, StaffInvite

log = logging.getLogger(__name__)

NAME_IN_BUTTON = 28


async def staff_panel(context: BotContext, venue: Venue) -> tuple[str, InlineKeyboardMarkup]:
    _ = context.gettext
    services = context.services
    profiles = await services.repos.users.get_many(list(venue.staff_ids))
    names = {
        user_id: (profiles[user_id].display_name if user_id in profiles else "") or f"#{user_id}"
        for user_id in venue.staff_ids
    }
    open_invites = await services.repos.staff_invites.open_for(venue.code, services.now())
    lines = [
        _("👥 Staff · {venue}").format(venue=venue.name),
        _("Staff see the figures and print the poster; only you change settings and staff."),
        "",
    ]
    if names:
        lines += [f"• {name}" for name in names.values()]
    else:
        lines.append(_("No staff yet."))
    if open_invites:
        lines += ["", _("Unused invite links: {n}").format(n=len(open_invites))]
    rows = [
        [
            InlineKeyboardButton(
                _("✖ Remove {name}").format(name=name[:NAME_IN_BUTTON]),
                callback_data=venue_data(access.UNSTAFF, venue.code, user_id),
            )
        ]
        for user_id, name in names.items()
    ]
    rows.append(
        [
            InlineKeyboardButton(
                _("➕ Invite link for a staff member"), callback_data=venue_data(access.INVITE, venue.code)
            )
        ]
    )
    if open_invites:
        rows.append(
            [
                InlineKeyboardButton(
                    _("Cancel unused invite links"), callback_data=venue_data(access.REVOKE, venue.code)
                )
            ]
        )
    rows.append([InlineKeyboardButton(_("« Back"), callback_data=venue_data(access.CARD, venue.code))])
    return "\n".join(lines), InlineKeyboardMarkup(rows)


async def show_staff(query: CallbackQuery, context: BotContext, venue: Venue) -> None:
    text, markup = await staff_panel(context, venue)
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


async def on_staff(query: CallbackQuery, context: BotContext, venue: Venue, action: VenueAction) -> None:
    await query.answer()
    await show_staff(query, context, venue)


def invite_text(_: Gettext, context: BotContext, venue: Venue, invite: StaffInvite, link: str) -> str:
    until = invite.expires_at.astimezone(context.services.settings.tz).strftime("%H:%M %d/%m/%Y")
    return "\n".join(
        [
            _(
                "Send this link to the person who should become staff of {venue}. It works once, "
                "until {until}:"
            ).format(venue=venue.name, until=until),
            link,
        ]
    )


async def on_invite(query: CallbackQuery, context: BotContext, venue: Venue, action: VenueAction) -> None:
    _ = context.gettext
    services = context.services
    invite = await services.repos.staff_invites.create(
        venue.code, query.from_user.id, token=new_token(), now=services.now()
    )
    await query.answer()
    link = context.links.to(PayloadKind.STAFF_INVITE, invite.token)
    await context.bot.send_message(query.from_user.id, invite_text(_, context, venue, invite, link))
    await show_staff(query, context, venue)


async def on_revoke(query: CallbackQuery, context: BotContext, venue: Venue, action: VenueAction) -> None:
    _ = context.gettext
    revoked = await context.repos.staff_invites.revoke_open(venue.code, context.services.now())
    await query.answer(_("{n} invite links no longer work.").format(n=revoked))
    await show_staff(query, context, venue)


async def on_unstaff(query: CallbackQuery, context: BotContext, venue: Venue, action: VenueAction) -> None:
    _ = context.gettext
    raw = action.argument or ""
    user_id = int(raw) if raw.isdigit() else None
    if user_id is None or user_id not in venue.staff_ids:
        await query.answer(_("This person is not staff of {venue}.").format(venue=venue.name))
        await show_staff(query, context, venue)
        return
    try:
        updated = await context.repos.venues.remove_staff(venue.code, user_id)
    except NotFound:  # removed meanwhile (a second press handled elsewhere)
        await query.answer(_("This person is not staff of {venue}.").format(venue=venue.name))
        await show_staff(query, context, await context.repos.venues.require(venue.code))
        return
    log.info("venue %s: staff member removed by the owner", venue.code)
    await tell_removed(context, updated, user_id)
    await query.answer(_("Removed from the staff of {venue}.").format(venue=venue.name))
    await show_staff(query, context, updated)


async def notify(
    context: BotContext, chat_id: int, venue: Venue, *, key: str, kind: str, text: Callable[[Gettext], str]
) -> None:
    """Queue a notice about `venue` for `chat_id`, written in the recipient's language.

    Like every proactive message it goes through the outbox: a recipient who blocked the bot is
    the delivery engine's concern, and what led to the notice is already done.
    """
    services = context.services
    lang = (await recipient_languages(services, [chat_id]))[chat_id]
    await services.repos.outbox.enqueue(
        OutboundMessage(
            key=key, kind=kind, chat_id=chat_id, text=text(gettext_for(lang)), meta={"venue": venue.code}
        ),
        services.now(),
    )


async def tell_removed(context: BotContext, venue: Venue, user_id: int) -> None:
    """Let the removed person know, in their language."""
    await notify(
        context,
        user_id,
        venue,
        # One removal, one notice; removed again after rejoining is a new removal.
        key=f"staff-removed:{venue.code}:{user_id}:{context.services.now().isoformat()}",
        kind="staff-removed",
        text=lambda _: _(
            "You no longer have access to {venue}: its owner removed you from its staff."
        ).format(venue=venue.name),
    )


async def join_as_staff(update: Update, context: BotContext) -> None:
    """`/start s-...`: the invite link an owner sent."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    _ = context.gettext
    services = context.services
    invalid = _("This invite link is not valid. Ask the venue's owner for a new one.")
    try:
        payload = verify_payload(services.secret, context.args[0] if context.args else "")
    except BadPayload:
        log.info("refused a bad staff invite payload")
        await message.reply_text(invalid)
        return
    if payload.kind is not PayloadKind.STAFF_INVITE:  # pragma: no cover - routed by the handler's filter
        return
    invite = await services.repos.staff_invites.get(payload.body)
    venue = await services.repos.venues.get(invite.venue_code) if invite else None
    if invite is None or venue is None:
        await message.reply_text(invalid)
        return
    if venue.can_manage(user.id):
        await message.reply_text(
            _("You own {venue}: send this link to the person who should become staff.").format(
                venue=venue.name
            )
        )
        return
    if user.id in venue.staff_ids:
        await message.reply_text(_("You are already staff of {venue}.").format(venue=venue.name))
        return
    try:
        await services.repos.staff_invites.redeem(invite.token, user.id, services.now())
    except InviteExpired:
        await message.reply_text(
            _(
                "This invite link has expired: links work for 72 hours. Ask the owner of {venue} for a new one."
            ).format(venue=venue.name)
        )
        return
    except InviteUsed:
        await message.reply_text(
            _("This invite link was already used. Ask the owner of {venue} for a new one.").format(
                venue=venue.name
            )
        )
        return
    except NotFound:
        await message.reply_text(invalid)
        return
    venue = await services.repos.venues.add_staff(venue.code, user.id)
    log.info("venue %s: new staff member joined by invite", venue.code)
    await message.reply_text(
        _(
            "✅ You are now staff of {venue}. You can see its figures and print its poster: /myvenues, /today."
        ).format(venue=venue.name)
    )
    await tell_owner(context, venue, invite, user.full_name)


async def tell_owner(context: BotContext, venue: Venue, invite: StaffInvite, name: str) -> None:
    """Let the owner know who used the link."""
    if venue.owner_id is None:
        return
    await notify(
        context,
        venue.owner_id,
        venue,
        key=f"staff-joined:{invite.token}",
        kind="staff-joined",
        text=lambda _: _("{name} joined {venue} as staff. /myvenues → Staff lists and removes staff.").format(
            name=name or "?", venue=venue.name
        ),
    )
