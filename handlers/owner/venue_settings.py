"""A venue's settings screen and its buttons: summary hour, automatic check-out, health, mute."""

from __future__ import annotations

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup

from bot.app.context import BotContext
from bot.i18n import Gettext, format_number
from bot.numbers import whole_or_none
from bot.venues import MAX_AUTO_CHECKOUT, MIN_AUTO_CHECKOUT
from handlers.owner import access
from handlers.owner.access import VenueAction, venue_data
from handlers.owner.cards import show
from storage.models import Venue

SUMMARY_HOUR_ROW = 6
AUTO_CHECKOUT_CHOICES = (15, 30, 60, 90, 120, 180, 240, 360, 480, 720, 1440)


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


async def on_hour(query: CallbackQuery, context: BotContext, venue: Venue, action: VenueAction) -> None:
    _ = context.gettext
    hour = whole_or_none(action.argument, low=0, high=23)
    if hour is None:
        await query.answer(_("This button has expired."))
        return
    updated = await context.venues.set_summary_hour(venue, hour)
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
    minutes = whole_or_none(action.argument, low=MIN_AUTO_CHECKOUT, high=MAX_AUTO_CHECKOUT)
    if minutes is None:
        await query.answer(_("This button has expired."))
        return
    updated = await context.venues.set_auto_checkout(venue, minutes)
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
    updated = await context.venues.set_health_declaration(venue, wanted)
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
    updated = await context.venues.set_summaries_muted(venue, wanted)
    await query.answer(_("Daily summaries muted.") if wanted else _("Daily summaries are back on."))
    await show_settings(query, context, updated)


async def on_capacity_none(
    query: CallbackQuery, context: BotContext, venue: Venue, action: VenueAction
) -> None:
    _ = context.gettext
    updated = await context.venues.set_capacity(venue, None)
    await query.answer(_("No capacity set: there will be no full-house alert."))
    await show_settings(query, context, updated)
