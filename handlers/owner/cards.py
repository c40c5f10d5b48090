"""A venue's card and the list of a member's venues (`/myvenues`)."""

from __future__ import annotations

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.app.context import BotContext
from bot.i18n import Gettext
from bot.numbers import whole_or_none
from bot.regions import RegionCatalogue
from bot.venues import CATEGORIES, region_label
from handlers.owner import access
from handlers.owner.access import VenueAction, venue_data
from storage.models import Venue

CARDS_AT_ONCE = 3  # more venues than this are listed as buttons
LIST_PAGE = 8
MAX_PAGE = 10_000  # pages are clamped to the last one; this only bounds what a button may say


def card_text(_: Gettext, regions: RegionCatalogue, venue: Venue, user_id: int) -> str:
    lines = [
        f"🏪 {venue.name} · {venue.code}",
        f"📍 {venue.address}",
        f"🗺 {region_label(regions, venue)}",
        _("Category: {category}").format(category=_(CATEGORIES.get(venue.category, CATEGORIES["other"]))),
    ]
    if venue.capacity:
        lines.append(_("Capacity: {capacity} people").format(capacity=venue.capacity))
    if venue.active:
        lines.append(_("✅ Active: the poster works."))
    else:
        lines.append(_("⛔ Deactivated: scans are refused until the owner reactivates it."))
    lines.append(_("You are the owner.") if venue.can_manage(user_id) else _("You are staff."))
    return "\n".join(lines)


def card_keyboard(_: Gettext, venue: Venue, user_id: int) -> InlineKeyboardMarkup:
    rows = [
        [
            InlineKeyboardButton(_("🖨 Poster"), callback_data=venue_data(access.POSTER, venue.code)),
            InlineKeyboardButton(_("📊 Today"), callback_data=venue_data(access.TODAY, venue.code)),
        ]
    ]
    if venue.can_manage(user_id):
        rows.append(
            [
                InlineKeyboardButton(_("⚙️ Settings"), callback_data=venue_data(access.SETTINGS, venue.code)),
                InlineKeyboardButton(_("👥 Staff"), callback_data=venue_data(access.STAFF, venue.code)),
            ]
        )
        if venue.active:
            toggle = InlineKeyboardButton(
                _("⛔ Deactivate"), callback_data=venue_data(access.DEACTIVATE, venue.code)
            )
        else:
            toggle = InlineKeyboardButton(
                _("✅ Reactivate"), callback_data=venue_data(access.REACTIVATE, venue.code)
            )
        rows.append([toggle])
    return InlineKeyboardMarkup(rows)


async def show(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Replace the pressed message; pressing the same button twice changes nothing and is fine."""
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


async def show_card(query: CallbackQuery, context: BotContext, venue: Venue) -> None:
    """Turn the pressed message into the venue's card."""
    user_id = query.from_user.id
    _ = context.gettext
    await show(query, card_text(_, context.regions, venue, user_id), card_keyboard(_, venue, user_id))


def no_venues_text(_: Gettext) -> str:
    return _("You have no venues yet. /newvenue registers one and gives you its poster.")


async def myvenues_command(update: Update, context: BotContext) -> None:
    """`/myvenues`: a card per venue, or a list of buttons for people with many venues."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None:
        return
    _ = context.gettext
    venues = await context.venues.of_member(user.id)
    if not venues:
        await context.bot.send_message(chat.id, no_venues_text(_))
    elif len(venues) <= CARDS_AT_ONCE:
        for venue in venues:
            await context.bot.send_message(
                chat.id,
                card_text(_, context.regions, venue, user.id),
                reply_markup=card_keyboard(_, venue, user.id),
            )
    else:
        text, markup = venue_list(_, venues, 0)
        await context.bot.send_message(chat.id, text, reply_markup=markup)


def venue_list(_: Gettext, venues: list[Venue], page: int) -> tuple[str, InlineKeyboardMarkup]:
    pages = (len(venues) + LIST_PAGE - 1) // LIST_PAGE
    page = max(0, min(page, pages - 1))
    shown = venues[page * LIST_PAGE : (page + 1) * LIST_PAGE]
    rows = [
        [
            InlineKeyboardButton(
                f"{'' if venue.active else '⛔ '}{venue.name[:40]} · {venue.code}",
                callback_data=venue_data(access.CARD, venue.code),
            )
        ]
        for venue in shown
    ]
    nav = []
    if page > 0:
        nav.append(InlineKeyboardButton("◀", callback_data=f"{access.LIST_PREFIX}{page - 1}"))
    if page < pages - 1:
        nav.append(InlineKeyboardButton("▶", callback_data=f"{access.LIST_PREFIX}{page + 1}"))
    if nav:
        rows.append(nav)
    text = _("Your venues ({n}). Choose one:").format(n=len(venues))
    if pages > 1:
        text += " " + _("page {page} of {pages}").format(page=page + 1, pages=pages)
    return text, InlineKeyboardMarkup(rows)


async def list_page(update: Update, context: BotContext) -> None:
    """◀ ▶ on the venue list; shows only the presser's own venues, whatever the data says."""
    query = update.callback_query
    user = update.effective_user
    if query is None or query.data is None or user is None:
        return
    _ = context.gettext
    page = whole_or_none(query.data.removeprefix(access.LIST_PREFIX), low=0, high=MAX_PAGE)
    if page is None:
        await query.answer(_("This button has expired."))
        return
    venues = await context.venues.of_member(user.id)
    await query.answer()
    if not venues:
        await show(query, no_venues_text(_))
        return
    text, markup = venue_list(_, venues, page)
    await show(query, text, markup)


async def on_card(query: CallbackQuery, context: BotContext, venue: Venue, action: VenueAction) -> None:
    await query.answer()
    await show_card(query, context, venue)
