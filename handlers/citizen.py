"""Citizens: check in by scanning or typing a code, check out, party size, history, forget."""

from __future__ import annotations

import logging
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.app.context import BotContext
from bot.checkins import CheckinOutcome, History, InactiveVenue, NotRecorded, Recorded, UnknownVenue
from bot.i18n import Gettext
from bot.payload import CODE_ALPHABET, CODE_LENGTH, normalize_code
from handlers import health
from handlers.common import tell_outcome
from storage.models import Visit

log = logging.getLogger(__name__)

CB_CHECKOUT = "v:out:"
CB_PLUS_ONE = "v:plus:"
CB_MINUS_ONE = "v:minus:"
CB_HISTORY = "v:hist"
CB_FORGET_YES = "v:forget:yes"
CB_FORGET_NO = "v:forget:no"


def local_time(context: BotContext, visit: Visit, *, with_date: bool = False) -> str:
    moment = visit.checkin_at.astimezone(context.tz)
    return moment.strftime("%H:%M %d/%m/%Y" if with_date else "%H:%M")


def visit_keyboard(_: Gettext, visit: Visit) -> InlineKeyboardMarkup:
    party = [InlineKeyboardButton(_("+1 person"), callback_data=f"{CB_PLUS_ONE}{visit.id}")]
    if visit.party > 1:  # a "+1" pressed by mistake can be taken back
        party.append(InlineKeyboardButton(_("−1 person"), callback_data=f"{CB_MINUS_ONE}{visit.id}"))
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(_("Check out"), callback_data=f"{CB_CHECKOUT}{visit.id}"), *party],
            [InlineKeyboardButton(_("My visits"), callback_data=CB_HISTORY)],
        ]
    )


def confirmation_text(
    _: Gettext, context: BotContext, visit: Visit, address: str, continued: bool, returned: bool = False
) -> str:
    when = local_time(context, visit, with_date=True)
    if returned:
        head = _("✅ Welcome back to {venue}: your visit since {time} continues.")
    elif continued:
        head = _("✅ Still checked in at {venue} (since {time}): this scan continues your visit.")
    else:
        head = _("✅ Checked in at {venue} · {time}")
    text = head.format(venue=visit.venue_name, time=when) + f"\n📍 {address}"
    if visit.party > 1:
        text += "\n" + _("👥 {n} people").format(n=visit.party)
    return text


def outcome_text(_: Gettext, context: BotContext, outcome: CheckinOutcome, typed: bool = False) -> str:
    if isinstance(outcome, UnknownVenue) and typed:
        return _(
            "No QuetMa venue has the code {code}. Please check the 8 characters printed under the QR."
        ).format(code=outcome.code)
    if isinstance(outcome, UnknownVenue):
        return _("This QR code does not belong to any QuetMa venue. Please check the poster.")
    if isinstance(outcome, NotRecorded):
        return _("Your check-in was not recorded: QuetMa is busy right now. Please scan the QR again.")
    if isinstance(outcome, InactiveVenue):
        return _("{venue} no longer uses QuetMa check-in. Nothing was recorded.").format(
            venue=outcome.venue.name
        )
    return confirmation_text(
        _, context, outcome.visit, outcome.venue.address, outcome.continued, outcome.returned
    )


async def check_in(message: Message, context: BotContext, code: str, *, typed: bool = False) -> None:
    """Check the sender in at a venue code and answer (the entry for scans and typed codes)."""
    user = message.from_user
    if user is None:
        return
    _ = context.gettext
    outcome = await context.checkins.record(user.id, code)
    if not isinstance(outcome, Recorded):
        await message.reply_text(outcome_text(_, context, outcome, typed))
        return
    await message.reply_text(outcome_text(_, context, outcome), reply_markup=visit_keyboard(_, outcome.visit))
    if outcome.ask_health_declaration:
        await health.ask(message, context, outcome.visit)


async def checkin_command(update: Update, context: BotContext) -> None:
    """`/checkin CODE`: for people who type the code printed under the QR."""
    message = update.effective_message
    if message is None:
        return
    _ = context.gettext
    raw = " ".join(context.args or [])[:64]
    code = normalize_code(raw) if raw else None
    if code is None:
        await message.reply_text(
            _("Send the 8-character code printed under the QR, for example: /checkin K7Q2XH4M")
        )
        return
    await check_in(message, context, code, typed=True)


async def typed_code(update: Update, context: BotContext) -> None:
    """Just the code, typed on its own (K7Q2XH4M, or k7q2 xh4m): a check-in like /checkin CODE."""
    message = update.effective_message
    code = normalize_code(message.text or "") if message is not None else None
    if message is None or code is None:
        return
    await check_in(message, context, code, typed=True)


def register_typed_codes(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """After every conversation (a typed answer there is an answer, not a check-in), before the catch-alls."""
    shaped = filters.Regex(rf"(?i)^\s*([{CODE_ALPHABET.lower()}{CODE_ALPHABET}][\s-]?){{{CODE_LENGTH}}}\s*$")
    app.add_handler(
        MessageHandler(filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE & shaped, typed_code)
    )


async def checkout_command(update: Update, context: BotContext) -> None:
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    _ = context.gettext
    visit = await context.checkins.check_out(user.id)
    if visit is None:
        await message.reply_text(_("You are not checked in anywhere right now."))
        return
    await message.reply_text(checkout_text(_, context, visit))


def checkout_text(_: Gettext, context: BotContext, visit: Visit) -> str:
    assert visit.checkout_at is not None  # noqa: S101 - just checked out
    end = visit.checkout_at.astimezone(context.tz).strftime("%H:%M")
    return _("👋 Checked out of {venue} at {time}. Thank you!").format(venue=visit.venue_name, time=end)


async def checkout_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    user = update.effective_user
    if query is None or query.data is None or user is None:
        return
    _ = context.gettext
    visit = await context.checkins.check_out(user.id, query.data.removeprefix(CB_CHECKOUT))
    if visit is None:
        await query.answer(_("This visit has already ended."))
        return
    await tell_outcome(query, context, checkout_text(_, context, visit))


async def plus_one_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    user = update.effective_user
    if query is None or query.data is None or user is None:
        return
    _ = context.gettext
    grown = await context.checkins.add_person(user.id, query.data.removeprefix(CB_PLUS_ONE))
    if grown is None:
        await query.answer(
            _("Can't add more people to this visit (it has ended, or 10 people is the limit).")
        )
        return
    visit = grown.visit
    address = grown.venue.address if grown.venue else ""
    await tell_outcome(
        query,
        context,
        confirmation_text(_, context, visit, address, continued=False),
        reply_markup=visit_keyboard(_, visit),
        notice=_("👥 {n} people").format(n=visit.party),
    )


async def minus_one_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    user = update.effective_user
    if query is None or query.data is None or user is None:
        return
    _ = context.gettext
    shrunk = await context.checkins.remove_person(user.id, query.data.removeprefix(CB_MINUS_ONE))
    if shrunk is None:
        await query.answer(_("Nothing to take back: the visit has ended, or only you are counted."))
        return
    visit = shrunk.visit
    await tell_outcome(
        query,
        context,
        confirmation_text(_, context, visit, shrunk.venue.address if shrunk.venue else "", continued=False),
        reply_markup=visit_keyboard(_, visit),
        notice=_.ngettext("👥 {n} person", "👥 {n} people", visit.party).format(n=visit.party),
    )


def history_text(_: Gettext, context: BotContext, history: History) -> str:
    if not history.visits:
        return _("You have no check-ins in the last {days} days.").format(days=history.days)
    tz = context.tz
    lines = [_("Your check-ins in the last {days} days:").format(days=history.days)]
    for visit in history.visits:
        start = visit.checkin_at.astimezone(tz)
        if visit.is_open(history.at):  # its end is not known yet: no made-up automatic check-out time
            since = _("since {time}, still checked in").format(time=f"{start:%H:%M}")
            line = f"• {start:%d/%m} {since} · {visit.venue_name}"
        else:
            line = f"• {start:%d/%m %H:%M}–{visit.ended_at.astimezone(tz):%H:%M} {visit.venue_name}"
        if visit.party > 1:
            line += " · " + _("👥 {n} people").format(n=visit.party)
        lines.append(line)
    lines += ["", _("/forget deletes all of them.")]
    return "\n".join(lines)


async def send_history(update: Update, context: BotContext) -> None:
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None:
        return
    _ = context.gettext
    history = await context.checkins.history(user.id)
    if update.callback_query:
        await update.callback_query.answer()
    await context.bot.send_message(chat.id, history_text(_, context, history))


async def forget_command(update: Update, context: BotContext) -> None:
    message = update.effective_message
    if message is None:
        return
    _ = context.gettext
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(_("Yes, delete everything"), callback_data=CB_FORGET_YES),
                InlineKeyboardButton(_("No, keep"), callback_data=CB_FORGET_NO),
            ]
        ]
    )
    await message.reply_text(
        _(
            "Delete all your check-ins and your profile? This cannot be undone. "
            "Anonymous daily counts of venues are kept."
        ),
        reply_markup=keyboard,
    )


async def forget_answer(update: Update, context: BotContext) -> None:
    query = update.callback_query
    user = update.effective_user
    if query is None or user is None:
        return
    _ = context.gettext
    if query.data != CB_FORGET_YES:
        await tell_outcome(query, context, _("Nothing was deleted."))
        return
    deleted = await context.privacy.forget_person(user.id)
    if context.user_data is not None:
        context.user_data.clear()
    await tell_outcome(
        query,
        context,
        _.ngettext(
            "Done: {n} check-in and your profile were deleted.",
            "Done: {n} check-ins and your profile were deleted.",
            deleted,
        ).format(n=deleted),
    )


async def shared_contact(update: Update, context: BotContext) -> None:
    """A citizen may share their own phone number so health workers can call them."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None or message.contact is None:
        return
    _ = context.gettext
    if message.contact.user_id != user.id:
        await message.reply_text(_("Please share your own contact, not someone else's."))
        return
    if not await context.privacy.share_phone(user.id, message.contact.phone_number):
        await message.reply_text(_("That does not look like a phone number; nothing was saved."))
        return
    await message.reply_text(_("Thank you: health workers can now call you if you were exposed."))


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handler(CommandHandler("checkin", checkin_command))
    app.add_handler(CommandHandler("checkout", checkout_command))
    app.add_handler(CommandHandler("history", send_history))
    app.add_handler(CommandHandler("forget", forget_command))
    app.add_handler(MessageHandler(filters.CONTACT, shared_contact))
    app.add_handler(CallbackQueryHandler(checkout_button, pattern=f"^{CB_CHECKOUT}"))
    app.add_handler(CallbackQueryHandler(plus_one_button, pattern=f"^{CB_PLUS_ONE}"))
    app.add_handler(CallbackQueryHandler(minus_one_button, pattern=f"^{CB_MINUS_ONE}"))
    app.add_handler(CallbackQueryHandler(send_history, pattern=f"^{CB_HISTORY}$"))
    app.add_handler(CallbackQueryHandler(forget_answer, pattern="^v:forget:"))
    health.register(app)
