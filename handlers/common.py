"""Handlers every audience shares: user profile, language, help, fallbacks and errors."""

from __future__ import annotations

import logging
import re
from typing import Any

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.constants import ChatType
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.app.context import BotContext, QuetmaApplication
from bot.clock import local_day
from bot.i18n import LANGUAGES, N_, Gettext, gettext_for
from storage.database import unavailable

log = logging.getLogger(__name__)

CB_LANGUAGE = "lang:"

PRIVACY_NOTICE = N_(
    "🔒 QuetMa keeps your check-ins (place, time, party size) for {days} days, then deletes them. "
    "Venue owners see only anonymous counts. Public-health officials of the area may look up who was at a "
    "venue at a given time to warn people after a confirmed case; every such look-up is logged. "
    "Send /forget at any time to delete your check-ins and profile."
)

# (command, description) in English; Vietnamese comes from the catalog.
CITIZEN_COMMANDS = [
    ("checkin", N_("Check in by typing a venue code")),
    ("checkout", N_("Check out of the current visit")),
    ("history", N_("Your visits of the last 14 days")),
    ("forget", N_("Delete your check-ins and profile")),
    ("language", N_("Tiếng Việt / English")),
    ("help", N_("How QuetMa works")),
]
EXTRA_COMMANDS: list[tuple[str, str]] = [
    ("newvenue", N_("Register a venue and get its poster")),
    ("myvenues", N_("Your venues: posters, figures, settings")),
    ("today", N_("Today's visitors at your venues")),
]
OFFICIAL_COMMANDS = [
    ("report", N_("A day's check-in figures for your area")),
    ("subscribe", N_("Get the report every morning")),
    ("subscriptions", N_("Your morning reports")),
    ("inactive", N_("Venues without scans, for inspection")),
    ("trace", N_("Who was at a venue in a time window")),
    ("exposure", N_("Alert the people who were at a venue")),
    ("dashboard", N_("Figures and lists in a browser")),
]
ADMIN_COMMANDS = [
    ("invite", N_("Invite link for a new official")),
    ("officials", N_("List and revoke officials")),
    ("audit", N_("Latest recorded actions")),
]
# A chat-scoped menu replaces the default one in that chat, so it repeats everyone's commands.
OFFICIAL_MENU = CITIZEN_COMMANDS + EXTRA_COMMANDS + OFFICIAL_COMMANDS
ADMIN_MENU = OFFICIAL_MENU + ADMIN_COMMANDS


def display_name(update: Update) -> str:
    user = update.effective_user
    return user.full_name if user else ""


async def remember_user(update: Update, context: BotContext) -> None:
    """Know each private-chat user: profile, language, and the privacy notice on first contact."""
    user = update.effective_user
    if user is None or context.user_data is None:
        return
    data = context.user_data
    # Once per process and local day: the language is cached, the profile's expiry pushed forward.
    today = local_day(context.clock.now(), context.tz).isoformat()
    if "lang" in data and data.get("seen") == today:
        return
    greeting = await context.profiles.greet(
        user.id, display_name=user.full_name, telegram_language=user.language_code
    )
    data["lang"] = greeting.language
    data["seen"] = today
    chat = update.effective_chat
    if greeting.first_contact and chat is not None and chat.type == ChatType.PRIVATE:
        _ = gettext_for(greeting.language)
        await context.bot.send_message(
            chat.id, _(PRIVACY_NOTICE).format(days=context.settings.retention_days)
        )


def language_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("🇻🇳 Tiếng Việt", callback_data=f"{CB_LANGUAGE}vi"),
                InlineKeyboardButton("🇬🇧 English", callback_data=f"{CB_LANGUAGE}en"),
            ]
        ]
    )


async def language_command(update: Update, context: BotContext) -> None:
    _ = context.gettext
    if update.effective_message:
        await update.effective_message.reply_text(
            _("Choose your language:"), reply_markup=language_keyboard()
        )


async def language_chosen(update: Update, context: BotContext) -> None:
    query = update.callback_query
    if query is None or query.data is None or update.effective_user is None:
        return
    lang = query.data.removeprefix(CB_LANGUAGE)
    if lang not in LANGUAGES:
        await query.answer()
        return
    await context.profiles.set_language(update.effective_user.id, lang)
    if context.user_data is not None:
        context.user_data["lang"] = lang
    _ = gettext_for(lang)
    await tell_outcome(query, context, _("Language set to English."))


def help_text(_: Gettext) -> str:
    return "\n".join(
        [
            _("QuetMa records where you checked in, so health workers can warn you if needed."),
            "",
            _("• Scan the QR poster at the entrance with your phone camera, or send /checkin CODE."),
            _("• /checkout when you leave (visits also end by themselves)."),
            _("• /history shows your visits; /forget deletes them."),
            _("• Venue owners: /newvenue registers a place and gives you its poster; /myvenues and /today."),
            _(
                "• Public-health officials (by invitation): /report, /subscribe, /inactive, /trace, /exposure."
            ),
            _("• /language switches between Tiếng Việt and English."),
        ]
    )


def official_help(_: Gettext) -> str:
    return "\n".join(
        [
            _("/report [YYYY-MM-DD] [place]: a day's figures (default: yesterday, your whole area)"),
            _("/subscribe: get the report every morning; /subscriptions, /unsubscribe"),
            _("/inactive [days]: venues without scans (default 3 days), with a CSV file"),
            _("/trace CODE FROM TO: who was at a venue (CSV file; every look-up is logged)"),
            _("/exposure CODE FROM TO: alert the people who were there"),
            _(
                "Times are local, written YYYY-MM-DD HH:MM; a day can also be 25/11/2026, 3 Dec 2026, "
                "today or yesterday."
            ),
        ]
    )


def admin_help(_: Gettext) -> str:
    return "\n".join(
        [
            _("/invite PLACE [72h]: a one-time invite link for a new official of that area"),
            _("/officials: list the officials and revoke one"),
            _("/audit: the latest recorded actions (traces, exports, alerts, invites)"),
        ]
    )


async def help_command(update: Update, context: BotContext) -> None:
    """Everyone's help, then the commands of the person's role: an official's, an admin's."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    _ = context.gettext
    parts = [help_text(_)]
    if await context.officials.access.access_of(user.id) is not None:
        parts.append(official_help(_))
    if context.officials.access.is_admin(user.id):
        parts.append(admin_help(_))
    await message.reply_text("\n\n".join(parts))


async def unknown_command(update: Update, context: BotContext) -> None:
    _ = context.gettext
    if update.effective_message:
        await update.effective_message.reply_text(
            _("I don't know that command. Send /help to see what I can do.")
        )


async def stray_message(update: Update, context: BotContext) -> None:
    """Text, stickers, photos and anything else outside a conversation."""
    _ = context.gettext
    if update.effective_message:
        await update.effective_message.reply_text(
            _(
                "To check in, scan the QR poster at the venue with your phone camera, "
                "or send /checkin followed by the code printed under the QR. /help shows more."
            )
        )


async def stale_button(update: Update, context: BotContext) -> None:
    """A button this bot no longer understands (old message, edited data)."""
    _ = context.gettext
    if update.callback_query:
        await update.callback_query.answer(_("This button has expired."), show_alert=False)


async def tell_outcome(
    query: CallbackQuery,
    context: BotContext,
    text: str,
    *,
    reply_markup: InlineKeyboardMarkup | None = None,
    notice: str | None = None,
) -> None:
    """Show the outcome of a button's action that has already happened, on the button's message.

    Nothing Telegram answers now undoes the action, so nothing here raises: the error handler's
    "Something went wrong" would tell the person it failed. A failed answer to the press is only
    logged; a failed edit (429 past the retry bound, a message too old to edit) is sent as a new
    message instead, and if that fails too it is logged.
    """
    try:
        await query.answer(notice)
    except TelegramError as exc:
        log.info(
            "could not answer a button press after its action: %s", without_token(str(exc), context.bot.token)
        )
    try:
        await query.edit_message_text(text, reply_markup=reply_markup)
        return
    except TelegramError as exc:
        if isinstance(exc, BadRequest) and "not modified" in exc.message.lower():
            return
        log.warning(
            "could not edit a message after its action: %s", without_token(str(exc), context.bot.token)
        )
    chat = query.message.chat.id if query.message is not None else query.from_user.id
    try:
        await context.bot.send_message(chat, text, reply_markup=reply_markup)
    except TelegramError as exc:
        log.warning("could not tell the outcome of an action: %s", without_token(str(exc), context.bot.token))


async def on_error(update: object, context: BotContext) -> None:
    """Log every handler failure and answer the user politely; no traceback reaches a user."""
    log.error("handler failed", exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    lang = context.lang if update.effective_user else "vi"
    _ = gettext_for(lang)
    if unavailable(context.error):
        text = _("QuetMa is busy right now. Please try again in a minute.")
    else:
        text = _("Something went wrong. Please try again.")
    try:
        if update.callback_query:
            await update.callback_query.answer(text)
        else:
            await context.bot.send_message(update.effective_chat.id, text)
    except Exception:
        log.warning("could not tell the user about an error", exc_info=True)


async def set_commands(app: QuetmaApplication) -> None:
    """Register the command menu in Vietnamese (default) and English, and each admin's own menu."""
    for lang in LANGUAGES:
        _ = gettext_for(lang)
        commands = [BotCommand(name, _(text)) for name, text in CITIZEN_COMMANDS + EXTRA_COMMANDS]
        await app.bot.set_my_commands(
            commands, scope=BotCommandScopeDefault(), language_code=None if lang == "vi" else lang
        )
    for admin_id in sorted(app.container.settings.admins):
        try:
            await set_chat_menu(app.bot, admin_id, ADMIN_MENU)
        except TelegramError as exc:
            # Typically 400 "chat not found": an admin who has never opened the chat. They get
            # the menu at the next start; the other admins get theirs now.
            reason = without_token(str(exc), app.bot.token)
            log.warning("could not set the command menu of admin %s: %s", admin_id, reason)


def without_token(text: str, token: str) -> str:
    """Text from an error with the bot token's secret part masked (PTB may change its case)."""
    secret = token.partition(":")[2] or token
    return re.sub(re.escape(secret), "<token>", text, flags=re.IGNORECASE).replace("\n", " ")


async def set_chat_menu(bot: Bot, chat_id: int, commands: list[tuple[str, str]]) -> None:
    """One chat's command menu in Vietnamese (default) and English; raises TelegramError."""
    for lang in LANGUAGES:
        _ = gettext_for(lang)
        await bot.set_my_commands(
            [BotCommand(name, _(text)) for name, text in commands],
            scope=BotCommandScopeChat(chat_id),
            language_code=None if lang == "vi" else lang,
        )


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Profile tracking first (group -1), then language and help."""
    app.add_handler(TypeHandler(Update, remember_user), group=-1)
    app.add_handler(CommandHandler("language", language_command))
    app.add_handler(CallbackQueryHandler(language_chosen, pattern=f"^{CB_LANGUAGE}"))
    app.add_handler(CommandHandler("help", help_command))
    app.add_error_handler(on_error)


def register_fallbacks(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Catch-alls; registered after every audience's handlers so they only see what nobody took."""
    app.add_handler(MessageHandler(filters.COMMAND, unknown_command))
    app.add_handler(MessageHandler(filters.ALL & ~filters.StatusUpdate.ALL, stray_message))
    app.add_handler(CallbackQueryHandler(stale_button))
