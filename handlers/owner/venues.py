"""Owners and staff manage venues: /myvenues cards, posters, /today, settings, deactivation."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import replace

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import ConversationHandler

from bot.app.context import BotContext
from bot.i18n import N_, Gettext, format_number
from bot.poster import PosterCard, render_poster, render_poster_preview_png
from bot.presence import render_today, venue_today
from bot.regions import UnknownRegion
from bot.services import Services
from bot.venues import CATEGORIES, InvalidInput, parse_capacity
from handlers.owner import access, staff
from handlers.owner.access import VenueAction, venue_data
from storage.models import Venue

log = logging.getLogger(__name__)

CARDS_AT_ONCE = 3  # more venues than this are listed as buttons
LIST_PAGE = 8
SUMMARY_HOUR_ROW = 6
AUTO_CHECKOUT_CHOICES = (15, 30, 60, 90, 120, 180, 240, 360, 480, 720, 1440)
MIN_AUTO_CHECKOUT, MAX_AUTO_CHECKOUT = 15, 1440
MESSAGE_BUDGET = 3500  # Telegram allows 4096 characters per message
EDIT_KEY = "venue_edit"
EDIT_CAPACITY = "edit_capacity"
EDIT_AUTO_CHECKOUT = "edit_auto_checkout"
WHOLE_MINUTES = re.compile(r"[+-]?[0-9]+")
DECIMAL_MINUTES = re.compile(r"[+-]?[0-9]*[.,][0-9]+")

Action = Callable[[CallbackQuery, BotContext, Venue, VenueAction], Awaitable[None]]


def region_label(services: Services, venue: Venue) -> str:
    try:
        return services.regions.label(venue.region_id)
    except UnknownRegion:
        return venue.region_id


def card_text(_: Gettext, services: Services, venue: Venue, user_id: int) -> str:
    lines = [
        f"🏪 {venue.name} · {venue.code}",
        f"📍 {venue.address}",
        f"🗺 {region_label(services, venue)}",
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


def no_venues_text(_: Gettext) -> str:
    return _("You have no venues yet. /newvenue registers one and gives you its poster.")


async def member_venues(update: Update, context: BotContext) -> tuple[int, int, list[Venue]] | None:
    """The chat, the user and the venues they own or staff; None (after a hint) when there are none."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None:
        return None
    venues = await context.repos.venues.for_member(user.id)
    if not venues:
        await context.bot.send_message(chat.id, no_venues_text(context.gettext))
        return None
    return chat.id, user.id, venues


async def myvenues_command(update: Update, context: BotContext) -> None:
    """`/myvenues`: a card per venue, or a list of buttons for people with many venues."""
    found = await member_venues(update, context)
    if found is None:
        return
    chat_id, user_id, venues = found
    _ = context.gettext
    if len(venues) <= CARDS_AT_ONCE:
        for venue in venues:
            await context.bot.send_message(
                chat_id,
                card_text(_, context.services, venue, user_id),
                reply_markup=card_keyboard(_, venue, user_id),
            )
        return
    text, markup = venue_list(_, venues, 0)
    await context.bot.send_message(chat_id, text, reply_markup=markup)


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
    raw = query.data.removeprefix(access.LIST_PREFIX)
    if not raw.isdigit():
        await query.answer(_("This button has expired."))
        return
    venues = await context.repos.venues.for_member(user.id)
    await query.answer()
    if not venues:
        await show(query, no_venues_text(_))
        return
    text, markup = venue_list(_, venues, int(raw))
    await show(query, text, markup)


async def today_command(update: Update, context: BotContext) -> None:
    """`/today`: today's figures for every venue the user owns or staffs."""
    found = await member_venues(update, context)
    if found is None:
        return
    chat_id, _user, venues = found
    _ = context.gettext
    blocks = []
    for venue in venues:
        figures = await venue_today(context.services, venue)
        blocks.append(render_today(figures, _, context.lang, context.services.settings.tz))
    chunk: list[str] = []
    for block in blocks:
        if chunk and sum(len(b) + 2 for b in chunk) + len(block) > MESSAGE_BUDGET:
            await context.bot.send_message(chat_id, "\n\n".join(chunk))
            chunk = []
        chunk.append(block)
    await context.bot.send_message(chat_id, "\n\n".join(chunk))


def poster_card(context: BotContext, venue: Venue) -> PosterCard:
    return PosterCard(
        name=venue.name,
        address=venue.address,
        code=venue.code,
        link=context.links.checkin(venue.code),
        region=region_label(context.services, venue),
    )


def render_poster_files(card: PosterCard) -> tuple[bytes, bytes]:
    """(preview PNG, A4 PDF): CPU work for a worker thread."""
    return render_poster_preview_png(card), render_poster(card, "pdf")


async def send_poster(context: BotContext, chat_id: int, venue: Venue) -> None:
    """The poster as a photo to look at and as a print-ready A4 PDF."""
    _ = context.gettext
    preview, pdf = await asyncio.to_thread(render_poster_files, poster_card(context, venue))
    await context.bot.send_photo(
        chat_id,
        photo=preview,
        caption=_("Poster of {venue} · code {code}").format(venue=venue.name, code=venue.code),
    )
    await context.bot.send_document(
        chat_id,
        document=pdf,
        filename=f"quetma-poster-{venue.code}.pdf",
        caption=_("Print-ready A4 poster (PDF). Print at 100% scale and put it at the entrance."),
    )


async def on_card(query: CallbackQuery, context: BotContext, venue: Venue, action: VenueAction) -> None:
    await query.answer()
    user_id = query.from_user.id
    _ = context.gettext
    await show(query, card_text(_, context.services, venue, user_id), card_keyboard(_, venue, user_id))


async def on_poster(query: CallbackQuery, context: BotContext, venue: Venue, action: VenueAction) -> None:
    _ = context.gettext
    if not venue.active:
        await query.answer(
            _("{venue} is deactivated: reactivate it before printing its poster.").format(venue=venue.name),
            show_alert=True,
        )
        return
    await query.answer(_("Preparing the poster…"))
    await send_poster(context, query.from_user.id, venue)


async def on_today(query: CallbackQuery, context: BotContext, venue: Venue, action: VenueAction) -> None:
    await query.answer()
    figures = await venue_today(context.services, venue)
    text = render_today(figures, context.gettext, context.lang, context.services.settings.tz)
    await context.bot.send_message(query.from_user.id, text)


def settings_text(_: Gettext, venue: Venue, lang: str) -> str:
    options = venue.settings
    summary = _("• Daily summary at {hour}").format(hour=f"{options.summary_hour:02d}:00")
    if options.summaries_muted:
        summary += " " + _("(muted)")
    capacity = (
        _("• Capacity: {capacity} people").format(capacity=format_number(venue.capacity, lang))
        if venue.capacity
        else _("• Capacity: not set (no full-house alert)")
    )
    return "\n".join(
        [
            _("⚙️ Settings · {venue}").format(venue=venue.name),
            summary,
            capacity,
            _("• Automatic check-out after {minutes} minutes").format(minutes=options.auto_checkout_minutes),
            _("• Health declaration after check-in: on")
            if options.health_declaration
            else _("• Health declaration after check-in: off"),
        ]
    )


def settings_keyboard(_: Gettext, venue: Venue) -> InlineKeyboardMarkup:
    options = venue.settings
    code = venue.code
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(_("🕘 Summary hour"), callback_data=venue_data(access.HOURS, code)),
                InlineKeyboardButton(_("👥 Capacity"), callback_data=venue_data(access.CAPACITY, code)),
            ],
            [InlineKeyboardButton(_("⏱ Automatic check-out"), callback_data=venue_data(access.AUTOS, code))],
            [
                InlineKeyboardButton(
                    _("🩺 Turn health declaration off")
                    if options.health_declaration
                    else _("🩺 Turn health declaration on"),
                    callback_data=venue_data(access.HEALTH, code, 0 if options.health_declaration else 1),
                )
            ],
            [
                InlineKeyboardButton(
                    _("🔔 Unmute daily summaries")
                    if options.summaries_muted
                    else _("🔕 Mute daily summaries"),
                    callback_data=venue_data(access.MUTE, code, 0 if options.summaries_muted else 1),
                )
            ],
            [InlineKeyboardButton(_("« Back"), callback_data=venue_data(access.CARD, code))],
        ]
    )


async def show_settings(query: CallbackQuery, context: BotContext, venue: Venue) -> None:
    _ = context.gettext
    await show(query, settings_text(_, venue, context.lang), settings_keyboard(_, venue))


async def on_settings(query: CallbackQuery, context: BotContext, venue: Venue, action: VenueAction) -> None:
    await query.answer()
    await show_settings(query, context, venue)


async def on_hours(query: CallbackQuery, context: BotContext, venue: Venue, action: VenueAction) -> None:
    _ = context.gettext
    await query.answer()
    buttons = [
        InlineKeyboardButton(
            f"• {hour:02d}" if hour == venue.settings.summary_hour else f"{hour:02d}",
            callback_data=venue_data(access.HOUR, venue.code, f"{hour:02d}"),
        )
        for hour in range(24)
    ]
    rows = [buttons[i : i + SUMMARY_HOUR_ROW] for i in range(0, 24, SUMMARY_HOUR_ROW)]
    rows.append([InlineKeyboardButton(_("« Back"), callback_data=venue_data(access.SETTINGS, venue.code))])
    await show(
        query,
        _("At what hour should the daily summary of {venue} arrive? (local time)").format(venue=venue.name),
        InlineKeyboardMarkup(rows),
    )


def whole_number(raw: str | None, low: int, high: int) -> int | None:
    if raw is None or not raw.isdigit():
        return None
    value = int(raw)
    return value if low <= value <= high else None


async def on_hour(query: CallbackQuery, context: BotContext, venue: Venue, action: VenueAction) -> None:
    _ = context.gettext
    hour = whole_number(action.argument, 0, 23)
    if hour is None:
        await query.answer(_("This button has expired."))
        return
    updated = await context.repos.venues.update_settings(
        venue.code, replace(venue.settings, summary_hour=hour)
    )
    await query.answer(_("The daily summary will arrive at {hour}.").format(hour=f"{hour:02d}:00"))
    await show_settings(query, context, updated)


def minutes_label(_: Gettext, minutes: int) -> str:
    if minutes % 60 == 0:
        return _("{n} h").format(n=minutes // 60)
    return _("{n} min").format(n=minutes)


async def on_autos(query: CallbackQuery, context: BotContext, venue: Venue, action: VenueAction) -> None:
    _ = context.gettext
    await query.answer()
    current = venue.settings.auto_checkout_minutes
    buttons = [
        InlineKeyboardButton(
            ("• " if minutes == current else "") + minutes_label(_, minutes),
            callback_data=venue_data(access.AUTO, venue.code, minutes),
        )
        for minutes in AUTO_CHECKOUT_CHOICES
    ]
    rows = [buttons[i : i + 4] for i in range(0, len(buttons), 4)]
    rows.append(
        [InlineKeyboardButton(_("✏️ Other value"), callback_data=venue_data(access.AUTO_ASK, venue.code))]
    )
    rows.append([InlineKeyboardButton(_("« Back"), callback_data=venue_data(access.SETTINGS, venue.code))])
    await show(
        query,
        _(
            "A visit without check-out ends by itself after this time, so people who forget to check "
            "out are not counted as present. How long do visitors usually stay at {venue}?"
        ).format(venue=venue.name),
        InlineKeyboardMarkup(rows),
    )


async def on_auto(query: CallbackQuery, context: BotContext, venue: Venue, action: VenueAction) -> None:
    _ = context.gettext
    minutes = whole_number(action.argument, MIN_AUTO_CHECKOUT, MAX_AUTO_CHECKOUT)
    if minutes is None:
        await query.answer(_("This button has expired."))
        return
    updated = await context.repos.venues.update_settings(
        venue.code, replace(venue.settings, auto_checkout_minutes=minutes)
    )
    await query.answer(_("Visits now end by themselves after {minutes} minutes.").format(minutes=minutes))
    await show_settings(query, context, updated)


def on_off(raw: str | None) -> bool | None:
    return {"1": True, "0": False}.get(raw or "")


async def on_health(query: CallbackQuery, context: BotContext, venue: Venue, action: VenueAction) -> None:
    _ = context.gettext
    wanted = on_off(action.argument)
    if wanted is None:
        await query.answer(_("This button has expired."))
        return
    updated = await context.repos.venues.update_settings(
        venue.code, replace(venue.settings, health_declaration=wanted)
    )
    await query.answer(
        _("Visitors will be asked the three health questions after check-in.")
        if wanted
        else _("Visitors will no longer be asked the health questions.")
    )
    await show_settings(query, context, updated)


async def on_mute(query: CallbackQuery, context: BotContext, venue: Venue, action: VenueAction) -> None:
    _ = context.gettext
    wanted = on_off(action.argument)
    if wanted is None:
        await query.answer(_("This button has expired."))
        return
    updated = await context.repos.venues.update_settings(
        venue.code, replace(venue.settings, summaries_muted=wanted)
    )
    await query.answer(_("Daily summaries muted.") if wanted else _("Daily summaries are back on."))
    await show_settings(query, context, updated)


async def on_capacity_none(
    query: CallbackQuery, context: BotContext, venue: Venue, action: VenueAction
) -> None:
    _ = context.gettext
    updated = await context.repos.venues.update_fields(venue.code, capacity=None)
    await query.answer(_("No capacity set: there will be no full-house alert."))
    await show_settings(query, context, updated)


async def on_deactivate(query: CallbackQuery, context: BotContext, venue: Venue, action: VenueAction) -> None:
    _ = context.gettext
    await query.answer()
    if not venue.active:
        await show(
            query,
            card_text(_, context.services, venue, query.from_user.id),
            card_keyboard(_, venue, query.from_user.id),
        )
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
    services = context.services
    updated = await services.repos.venues.set_active(venue.code, active, day=services.today().isoformat())
    log.info("venue %s %s by its owner", venue.code, "reactivated" if active else "deactivated")
    await query.answer(
        _("{venue} is active again: its poster works.").format(venue=venue.name)
        if active
        else _("{venue} is deactivated: scans of its poster are refused.").format(venue=venue.name)
    )
    user_id = query.from_user.id
    await show(query, card_text(_, services, updated, user_id), card_keyboard(_, updated, user_id))


async def on_deactivate_yes(
    query: CallbackQuery, context: BotContext, venue: Venue, action: VenueAction
) -> None:
    await set_active(query, context, venue, False)


async def on_reactivate(query: CallbackQuery, context: BotContext, venue: Venue, action: VenueAction) -> None:
    await set_active(query, context, venue, True)


ACTIONS: dict[str, Action] = {
    access.CARD: on_card,
    access.POSTER: on_poster,
    access.TODAY: on_today,
    access.SETTINGS: on_settings,
    access.HOURS: on_hours,
    access.HOUR: on_hour,
    access.AUTOS: on_autos,
    access.AUTO: on_auto,
    access.HEALTH: on_health,
    access.MUTE: on_mute,
    access.CAPACITY_NONE: on_capacity_none,
    access.DEACTIVATE: on_deactivate,
    access.DEACTIVATE_YES: on_deactivate_yes,
    access.REACTIVATE: on_reactivate,
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


# The capacity and other auto check-out times are typed, so asking for them is a conversation step
# (see handlers.owner.conversation).


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
    venue = await context.repos.venues.get(code) if isinstance(code, str) else None
    if venue is None or not venue.can_manage(user.id):
        context.user_data.pop(EDIT_KEY, None)
        await message.reply_text(_("Only the venue's owner can change its settings and staff."))
        return None
    return message, venue


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
    typed = await typed_for_venue(update, context)
    if typed is None or context.user_data is None:
        return ConversationHandler.END
    message, venue = typed
    _ = context.gettext
    try:
        capacity = parse_capacity(message.text or "")
    except InvalidInput as exc:
        await message.reply_text(_(str(exc)) + "\n" + _("Send the capacity again, or /cancel."))
        return EDIT_CAPACITY
    if capacity is None:
        await message.reply_text(_("Please send a whole number of people, for example 40."))
        return EDIT_CAPACITY
    updated = await context.repos.venues.update_fields(venue.code, capacity=capacity)
    return await typed_setting_saved(message, context, updated)


def parse_auto_checkout(raw: str) -> int:
    """Typed minutes for automatic check-out: a whole number from 15 to 1440; InvalidInput says why not."""
    text = raw.strip()
    if DECIMAL_MINUTES.fullmatch(text):
        raise InvalidInput(N_("Please send whole minutes, without decimals, for example 45."))
    if not WHOLE_MINUTES.fullmatch(text):
        raise InvalidInput(N_("Please send a number of minutes, for example 45."))
    # Anything this long is out of range, and int() refuses thousands of digits anyway.
    if len(text) > 10 or not MIN_AUTO_CHECKOUT <= int(text) <= MAX_AUTO_CHECKOUT:
        raise InvalidInput(N_("Automatic check-out must be between 15 and 1440 minutes (24 hours)."))
    return int(text)


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
    typed = await typed_for_venue(update, context)
    if typed is None or context.user_data is None:
        return ConversationHandler.END
    message, venue = typed
    _ = context.gettext
    try:
        minutes = parse_auto_checkout(message.text or "")
    except InvalidInput as exc:
        await message.reply_text(_(str(exc)) + "\n" + _("Send the number of minutes again, or /cancel."))
        return EDIT_AUTO_CHECKOUT
    updated = await context.repos.venues.update_settings(
        venue.code, replace(venue.settings, auto_checkout_minutes=minutes)
    )
    log.info("venue %s: automatic check-out typed by the owner", venue.code)
    done = _("Visits now end by themselves after {minutes} minutes.").format(minutes=minutes)
    return await typed_setting_saved(message, context, updated, done)


async def reask_auto_checkout(update: Update, context: BotContext) -> str:
    """A photo, sticker or anything but text while minutes are asked for."""
    _ = context.gettext
    if update.effective_message is not None:
        await update.effective_message.reply_text(
            _("Please send a number of minutes, for example 45.")
            + "\n"
            + _("Send the number of minutes again, or /cancel.")
        )
    return EDIT_AUTO_CHECKOUT


async def leave_edit(update: Update, context: BotContext) -> int:
    """Another venue button while a typed value is asked for: stop asking and do what it says."""
    if context.user_data is not None:
        context.user_data.pop(EDIT_KEY, None)
    await venue_button(update, context)
    return ConversationHandler.END
