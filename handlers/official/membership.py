"""Becoming an official (invite links) and the admins' list of officials with revocation."""

from __future__ import annotations

import logging

from telegram import BotCommandScopeChat, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError

from bot import officials
from bot.app.context import BotContext
from bot.i18n import LANGUAGES, N_, Gettext
from bot.officials import Access, BadInput, region_label
from bot.payload import PayloadKind
from bot.text import fit_message
from handlers.common import ADMIN_MENU, OFFICIAL_MENU, set_chat_menu, tell_outcome
from handlers.official.common import actor_of, tell
from storage.invites import InviteKind
from storage.officials import Official

log = logging.getLogger(__name__)

CB_REVOKE = "off:rev:"
MAX_LISTED = 50


async def set_official_commands(context: BotContext, chat_id: int) -> None:
    """Officials see their commands in the menu of their own chat (an admin keeps the admin menu)."""
    admin = context.officials.access.is_admin(chat_id)
    try:
        await set_chat_menu(context.bot, chat_id, ADMIN_MENU if admin else OFFICIAL_MENU)
    except TelegramError:
        log.warning("could not set an official's command menu", exc_info=True)


async def clear_official_commands(context: BotContext, chat_id: int) -> None:
    """Back to the default menu once someone is no longer an official (an admin keeps the admin menu)."""
    try:
        if context.officials.access.is_admin(chat_id):
            await set_chat_menu(context.bot, chat_id, ADMIN_MENU)
            return
        for lang in LANGUAGES:
            await context.bot.delete_my_commands(
                scope=BotCommandScopeChat(chat_id), language_code=None if lang == "vi" else lang
            )
    except TelegramError:
        log.warning("could not clear an official's command menu", exc_info=True)


async def invite_command(update: Update, context: BotContext, access: Access) -> None:
    """`/invite <region> [72h]`: an admin creates a one-time invite link."""
    _ = context.gettext
    args = list(context.args or [])
    ttl = officials.DEFAULT_INVITE_TTL
    if len(args) > 1:
        try:
            ttl = officials.parse_duration(args[-1])
            args = args[:-1]
        except ValueError:
            pass
    if not args:
        raise BadInput(
            N_(
                "Send /invite followed by a region, for example: /invite Hà Nội or /invite Ba Đình, Hà Nội 24h"
            )
        )
    region = context.officials.access.resolve_region(access, " ".join(args))
    invite = await context.create_invite(InviteKind.OFFICIAL, region.id, actor_of(update), ttl)
    link = context.links.to(PayloadKind.OFFICIAL_INVITE, invite.token)
    until = invite.expires_at.astimezone(context.tz)
    await tell(
        update,
        _("One-time invite for an official of {region}, valid until {time}:").format(
            region=region_label(context.regions, region.id), time=f"{until:%H:%M %d/%m/%Y}"
        )
        + f"\n{link}",
    )


def officials_list(
    _: Gettext, context: BotContext, listed: list[Official]
) -> tuple[str, InlineKeyboardMarkup | None]:
    if not listed:
        return _("There are no officials yet. Create an invite with /invite <region>."), None
    lines = [_("Officials:")]
    rows = []
    for official in listed[:MAX_LISTED]:
        since = official.since.astimezone(context.tz)
        region = region_label(context.regions, official.region)
        lines.append(f"• {official.name} ({official.user_id}) · {region} · {since:%d/%m/%Y}")
        rows.append(
            [
                InlineKeyboardButton(
                    _("Revoke {name}").format(name=official.name or official.user_id)[:60],
                    callback_data=f"{CB_REVOKE}{official.user_id}",
                )
            ]
        )
    if len(listed) > MAX_LISTED:
        lines.append(_("(the first {count}; all of them: quetma official list)").format(count=MAX_LISTED))
    return fit_message("\n".join(lines)), InlineKeyboardMarkup(rows)


async def officials_command(update: Update, context: BotContext, access: Access) -> None:
    _ = context.gettext
    text, markup = officials_list(_, context, await context.officials.roster.all())
    if update.effective_message:
        await update.effective_message.reply_text(text, reply_markup=markup)


async def revoke_button(update: Update, context: BotContext, access: Access) -> None:
    query = update.callback_query
    if query is None or query.data is None:
        return
    _ = context.gettext
    raw = query.data.removeprefix(CB_REVOKE)
    # isdigit() alone accepts superscripts and other digits int() refuses.
    if not (raw.isascii() and raw.isdigit()):
        await query.answer()
        return
    revoked = await context.officials.roster.revoke(actor_of(update), int(raw))
    if revoked is None:
        notice = _("This person is no longer an official.")
    else:
        notice = _("{name} is no longer an official.").format(name=revoked.name or revoked.user_id)
        await clear_official_commands(context, revoked.user_id)
    text, markup = officials_list(_, context, await context.officials.roster.all())
    await tell_outcome(query, context, text, reply_markup=markup, notice=notice)
