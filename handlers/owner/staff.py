"""The owner's staff panel: who is staff, invite links, removing someone (joining is handlers.start)."""

from __future__ import annotations

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest

from bot.app.context import BotContext
from bot.i18n import Gettext
from bot.officials import Actor
from bot.payload import PayloadKind
from bot.staff import StaffList
from handlers.owner import access
from handlers.owner.access import VenueAction, venue_data
from storage.invites import Invite, InviteKind
from storage.models import Venue

NAME_IN_BUTTON = 28


def staff_panel(_: Gettext, staff: StaffList) -> tuple[str, InlineKeyboardMarkup]:
    venue = staff.venue
    lines = [
        _("👥 Staff · {venue}").format(venue=venue.name),
        _("Staff see the figures and print the poster; only you change settings and staff."),
        "",
    ]
    if staff.members:
        lines += [f"• {member.name}" for member in staff.members]
    else:
        lines.append(_("No staff yet."))
    if staff.open_invites:
        lines += ["", _("Unused invite links: {n}").format(n=staff.open_invites)]
    rows = [
        [
            InlineKeyboardButton(
                _("✖ Remove {name}").format(name=member.name[:NAME_IN_BUTTON]),
                callback_data=venue_data(access.UNSTAFF, venue.code, member.user_id),
            )
        ]
        for member in staff.members
    ]
    rows.append(
        [
            InlineKeyboardButton(
                _("➕ Invite link for a staff member"), callback_data=venue_data(access.INVITE, venue.code)
            )
        ]
    )
    if staff.open_invites:
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
    text, markup = staff_panel(context.gettext, await context.venue_staff.roster(venue))
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


async def on_staff(query: CallbackQuery, context: BotContext, venue: Venue, action: VenueAction) -> None:
    await query.answer()
    await show_staff(query, context, venue)


def invite_text(_: Gettext, context: BotContext, venue: Venue, invite: Invite, link: str) -> str:
    until = invite.expires_at.astimezone(context.tz).strftime("%H:%M %d/%m/%Y")
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
    owner = Actor(query.from_user.id, query.from_user.full_name)
    invite = await context.create_invite(InviteKind.STAFF, venue.code, owner)
    await query.answer()
    link = context.links.to(PayloadKind.STAFF_INVITE, invite.token)
    await context.bot.send_message(query.from_user.id, invite_text(_, context, venue, invite, link))
    await show_staff(query, context, venue)


async def on_revoke(query: CallbackQuery, context: BotContext, venue: Venue, action: VenueAction) -> None:
    _ = context.gettext
    revoked = await context.venue_staff.cancel_invites(venue)
    await query.answer(
        _.ngettext("{n} invite link no longer works.", "{n} invite links no longer work.", revoked).format(
            n=revoked
        )
    )
    await show_staff(query, context, venue)


async def on_unstaff(query: CallbackQuery, context: BotContext, venue: Venue, action: VenueAction) -> None:
    _ = context.gettext
    raw = action.argument or ""
    # ASCII digits only: str.isdigit() also accepts superscripts, which int() refuses.
    user_id = int(raw) if raw.isascii() and raw.isdigit() else None
    removal = await context.venue_staff.remove(venue, user_id)
    if removal.removed:
        await query.answer(_("Removed from the staff of {venue}.").format(venue=venue.name))
    else:
        await query.answer(_("This person is not staff of {venue}.").format(venue=venue.name))
    await show_staff(query, context, removal.venue)
