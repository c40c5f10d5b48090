"""Officials and admins: invites, region reports, subscriptions, inactive venues, tracing, exposure alerts, audit."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, date, datetime, timedelta
from typing import Any

from telegram import (
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot import officials
from bot.app.context import BotContext
from bot.i18n import LANGUAGES, N_, Gettext, format_number
from bot.officials import Access, Actor, BadInput, Refused, Window
from bot.payload import PayloadKind
from bot.regions import Region, UnknownRegion
from bot.reports import build_report, render_report
from handlers.common import ADMIN_MENU, OFFICIAL_COMMANDS, OFFICIAL_MENU, set_chat_menu
from storage.invites import InviteKind
from storage.officials import Official

log = logging.getLogger(__name__)

CB_SUBSCRIBE = "off:sub:"
CB_UNSUBSCRIBE = "off:uns:"
CB_REVOKE = "off:rev:"
CB_EXPOSURE = "off:exp:"
CB_EXPOSURE_CANCEL = "off:expno"
SHOWN_INACTIVE = 20
SHOWN_AUDIT = 30
MAX_CHILD_BUTTONS = 40
MAX_LISTED = 50

OfficialHandler = Callable[[Update, BotContext, Access], Awaitable[None]]


def actor_of(update: Update) -> Actor:
    user = update.effective_user
    assert user is not None  # noqa: S101 - checked by the wrappers
    return Actor(user.id, user.full_name)


async def tell(update: Update, text: str) -> None:
    """Answer a command with a message, or a button press with an alert."""
    if update.callback_query is not None:
        await update.callback_query.answer(text[:200], show_alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text)


def unknown_region_text(_: Gettext, exc: UnknownRegion) -> str:
    text = _("I don't know a region called {name}.").format(name=exc.query)
    if exc.suggestions:
        names = "; ".join(region.name for region in exc.suggestions)
        text += " " + _("Did you mean: {names}?").format(names=names)
    return text


def guarded(
    handler: OfficialHandler, *, admin: bool = False
) -> Callable[[Update, BotContext], Coroutine[Any, Any, None]]:
    """Run a handler for officials (or admins) only, in private chats; refusals become a clear answer."""

    async def run(update: Update, context: BotContext) -> None:
        user = update.effective_user
        chat = update.effective_chat
        if user is None or chat is None:
            return
        _ = context.gettext
        if chat.type != ChatType.PRIVATE:
            await tell(update, _("Please use this command in a private chat with me."))
            return
        services = context.services
        try:
            if admin:
                access = officials.require_admin(services, user.id)
            else:
                access = await officials.require_official(services, user.id)
            await handler(update, context, access)
        except Refused as refusal:
            await tell(update, refusal.text(_))
        except UnknownRegion as exc:
            await tell(update, unknown_region_text(_, exc))

    return run


# ---- Invites and the list of officials --------------------------------------------------------------


def official_help(_: Gettext) -> str:
    return "\n".join(
        [
            _("/report [YYYY-MM-DD] [place]: a day's figures (default: yesterday, your whole area)"),
            _("/subscribe: get the report every morning; /subscriptions, /unsubscribe"),
            _("/inactive [days]: venues without scans (default 3 days), with a CSV file"),
            _("/trace CODE FROM TO: who was at a venue (CSV file; every look-up is logged)"),
            _("/exposure CODE FROM TO: alert the people who were there"),
            _("Times are local, written YYYY-MM-DD HH:MM."),
        ]
    )


async def set_official_commands(context: BotContext, chat_id: int) -> None:
    """Officials see their commands in the menu of their own chat (an admin keeps the admin menu)."""
    admin = chat_id in context.services.settings.admins
    try:
        await set_chat_menu(context.bot, chat_id, ADMIN_MENU if admin else OFFICIAL_MENU)
    except TelegramError:
        log.warning("could not set an official's command menu", exc_info=True)


async def clear_official_commands(context: BotContext, chat_id: int) -> None:
    """Back to the default menu once someone is no longer an official (an admin keeps the admin menu)."""
    try:
        if chat_id in context.services.settings.admins:
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
    services = context.services
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
    region = officials.resolve_region(services, access, " ".join(args))
    invite = await context.create_invite(InviteKind.OFFICIAL, region.id, actor_of(update), ttl)
    link = context.links.to(PayloadKind.OFFICIAL_INVITE, invite.token)
    until = invite.expires_at.astimezone(services.settings.tz)
    await tell(
        update,
        _("One-time invite for an official of {region}, valid until {time}:").format(
            region=officials.region_label(services, region.id), time=f"{until:%H:%M %d/%m/%Y}"
        )
        + f"\n{link}",
    )


def officials_list(
    _: Gettext, context: BotContext, listed: list[Official]
) -> tuple[str, InlineKeyboardMarkup | None]:
    services = context.services
    if not listed:
        return _("There are no officials yet. Create an invite with /invite <region>."), None
    lines = [_("Officials:")]
    rows = []
    for official in listed[:MAX_LISTED]:
        since = official.since.astimezone(services.settings.tz)
        lines.append(
            f"• {official.name} ({official.user_id}) · {officials.region_label(services, official.region)} · {since:%d/%m/%Y}"
        )
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
    return "\n".join(lines)[:4096], InlineKeyboardMarkup(rows)


async def officials_command(update: Update, context: BotContext, access: Access) -> None:
    _ = context.gettext
    text, markup = officials_list(_, context, await context.repos.officials.all())
    if update.effective_message:
        await update.effective_message.reply_text(text, reply_markup=markup)


async def revoke_button(update: Update, context: BotContext, access: Access) -> None:
    query = update.callback_query
    if query is None or query.data is None:
        return
    _ = context.gettext
    raw = query.data.removeprefix(CB_REVOKE)
    if not raw.isdigit():
        await query.answer()
        return
    revoked = await officials.revoke_official(context.services, actor_of(update), int(raw))
    if revoked is None:
        await query.answer(_("This person is no longer an official."))
    else:
        await query.answer(_("{name} is no longer an official.").format(name=revoked.name or revoked.user_id))
        await clear_official_commands(context, revoked.user_id)
    text, markup = officials_list(_, context, await context.repos.officials.all())
    await query.edit_message_text(text, reply_markup=markup)


# ---- Report -----------------------------------------------------------------------------------------


def parse_day(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadInput(N_("Write the date as YYYY-MM-DD, for example 2026-11-18.")) from None


def looks_like_date(raw: str) -> bool:
    return len(raw) >= 8 and raw[:4].isdigit() and raw[4:5] == "-"


async def report_command(update: Update, context: BotContext, access: Access) -> None:
    """`/report [YYYY-MM-DD] [place]`: yesterday's figures for one's own area by default."""
    _ = context.gettext
    services = context.services
    args = list(context.args or [])
    today = services.today()
    day = today - timedelta(days=1)
    if args and looks_like_date(args[0]):
        day = parse_day(args.pop(0))
    if day > today:
        raise BadInput(N_("That day has not come yet."))
    region = (
        officials.resolve_region(services, access, " ".join(args))
        if args
        else services.regions.require(access.scope)
    )
    report = await build_report(services.repos.stats, services.regions, region.id, day)
    await tell(update, render_report(report, _, context.lang))


# ---- Subscriptions ----------------------------------------------------------------------------------


def region_buttons(context: BotContext, regions: list[Region], prefix: str) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(region.name[:60], callback_data=f"{prefix}{region.id}") for region in regions
    ]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


async def subscribe_command(update: Update, context: BotContext, access: Access) -> None:
    """`/subscribe [place]`: buttons for one's area and its parts, or a search for a typed place."""
    _ = context.gettext
    services = context.services
    regions = services.regions
    scope = regions.require(access.scope)
    typed = " ".join(context.args or []).strip()
    if typed:
        try:
            region = officials.resolve_region(services, access, typed)
        except UnknownRegion as exc:
            province = scope.path[1] if len(scope.path) > 1 else None
            candidates = regions.search_wards(province, typed) if province else []
            candidates += [r for r in exc.suggestions if r not in candidates]
            candidates = [r for r in candidates if regions.is_within(r.id, scope.id)][:8]
            if not candidates:
                raise
            await tell_with_buttons(
                update, _("Which one?"), region_buttons(context, candidates, CB_SUBSCRIBE)
            )
            return
        await subscribe_to(update, context, region)
        return
    choices = [scope]
    children = regions.children(scope.id)
    if len(children) <= MAX_CHILD_BUTTONS:
        choices += children
    text = _("Which area's report do you want every morning at {time}?").format(
        time=services.settings.official_summary_at.strftime("%H:%M")
    )
    if children:
        text += "\n" + _(
            "Or send /subscribe followed by a place name, for example: /subscribe {example}"
        ).format(example=children[0].name)
    await tell_with_buttons(update, text, region_buttons(context, choices, CB_SUBSCRIBE))


async def tell_with_buttons(update: Update, text: str, markup: InlineKeyboardMarkup) -> None:
    if update.effective_message is not None:
        await update.effective_message.reply_text(text, reply_markup=markup)


async def subscribe_to(update: Update, context: BotContext, region: Region) -> None:
    _ = context.gettext
    services = context.services
    user = update.effective_user
    assert user is not None  # noqa: S101 - checked by the wrapper
    added = await context.repos.subscriptions.subscribe(user.id, region.id, services.now())
    label = officials.region_label(services, region.id)
    when = services.settings.official_summary_at.strftime("%H:%M")
    text = (
        _("Subscribed: the report for {region} will come every morning at {time}.")
        if added
        else _("You already get the report for {region} every morning at {time}.")
    ).format(region=label, time=when)
    if update.callback_query is not None:
        await update.callback_query.answer()
        await update.callback_query.edit_message_text(text)
    else:
        await tell(update, text)


async def subscribe_button(update: Update, context: BotContext, access: Access) -> None:
    query = update.callback_query
    if query is None or query.data is None:
        return
    region_id = query.data.removeprefix(CB_SUBSCRIBE)
    region = context.services.regions.require(region_id)
    officials.require_within(context.services, access, region.id)
    await subscribe_to(update, context, region)


def subscriptions_text(_: Gettext, context: BotContext, regions: list[str]) -> str:
    services = context.services
    if not regions:
        return _("You have no morning reports. Send /subscribe to get one.")
    lines = [
        _("Every morning at {time} you get the report for:").format(
            time=services.settings.official_summary_at.strftime("%H:%M")
        )
    ]
    lines += [f"• {officials.region_label(services, region)}" for region in regions]
    return "\n".join(lines)


async def subscriptions_command(update: Update, context: BotContext, access: Access) -> None:
    _ = context.gettext
    user = update.effective_user
    assert user is not None  # noqa: S101 - checked by the wrapper
    regions = [s.region for s in await context.repos.subscriptions.for_user(user.id)]
    text = subscriptions_text(_, context, regions)
    markup = unsubscribe_markup(_, context, regions) if regions else None
    if update.effective_message:
        await update.effective_message.reply_text(text, reply_markup=markup)


def unsubscribe_markup(_: Gettext, context: BotContext, regions: list[str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    _("Stop: {region}").format(region=context.services.regions.require(region).name)[:60],
                    callback_data=f"{CB_UNSUBSCRIBE}{region}",
                )
            ]
            for region in regions
        ]
    )


async def unsubscribe_command(update: Update, context: BotContext, access: Access) -> None:
    """`/unsubscribe [place]`: stop a morning report (buttons when no place is given)."""
    _ = context.gettext
    services = context.services
    user = update.effective_user
    assert user is not None  # noqa: S101 - checked by the wrapper
    regions = [s.region for s in await context.repos.subscriptions.for_user(user.id)]
    typed = " ".join(context.args or []).strip()
    if typed:
        region = services.regions.resolve(typed)
        removed = await context.repos.subscriptions.unsubscribe(user.id, region.id)
        label = officials.region_label(services, region.id)
        await tell(
            update,
            (
                _("Stopped: no more reports for {region}.")
                if removed
                else _("You had no report for {region}.")
            ).format(region=label),
        )
        return
    if not regions:
        await tell(update, _("You have no morning reports. Send /subscribe to get one."))
        return
    await tell_with_buttons(update, _("Which report should stop?"), unsubscribe_markup(_, context, regions))


async def unsubscribe_button(update: Update, context: BotContext, access: Access) -> None:
    query = update.callback_query
    user = update.effective_user
    if query is None or query.data is None or user is None:
        return
    _ = context.gettext
    region = query.data.removeprefix(CB_UNSUBSCRIBE)
    await context.repos.subscriptions.unsubscribe(user.id, region)
    await query.answer(_("Stopped."))
    regions = [s.region for s in await context.repos.subscriptions.for_user(user.id)]
    await query.edit_message_text(
        subscriptions_text(_, context, regions),
        reply_markup=unsubscribe_markup(_, context, regions) if regions else None,
    )


# ---- Inactive venues --------------------------------------------------------------------------------


async def inactive_command(update: Update, context: BotContext, access: Access) -> None:
    """`/inactive [days] [place]`: venues without a scan in the last days, the first 20 and a CSV of all."""
    _ = context.gettext
    services = context.services
    message = update.effective_message
    if message is None:
        return
    args = list(context.args or [])
    days = officials.INACTIVE_DEFAULT_DAYS
    if args and args[0].isdigit():
        days = int(args.pop(0))
    if not 1 <= days <= officials.INACTIVE_MAX_DAYS:
        raise BadInput(N_("Choose a number of days from 1 to 90, for example: /inactive 7"))
    region = (
        officials.resolve_region(services, access, " ".join(args))
        if args
        else services.regions.require(access.scope)
    )
    label = officials.region_label(services, region.id)
    if region.kind != "ward":
        await message.reply_text(
            _("Looking through the venues of {region}; a whole city can take a minute or two.").format(
                region=label
            )
        )
    venues = await officials.inactive_venues(services, region.id, days)
    if not venues:
        await message.reply_text(
            _(
                "Every venue in {region} registered at least {days} days ago had a scan in the last {days} days."
            ).format(region=label, days=days)
        )
        return
    lines = [
        _(
            "{count} venues in {region} registered at least {days} days ago had no scan in the last {days} days."
        ).format(count=format_number(len(venues), context.lang), region=label, days=days),
        "",
    ]
    for venue in venues[:SHOWN_INACTIVE]:
        last = venue.last_checkin_day or _("never")
        lines.append(
            f"• {venue.code} · {venue.name} · {venue.address} · {services.regions.require(venue.region_id).name} · {last}"
        )
    if len(venues) > SHOWN_INACTIVE:
        lines += ["", _("All of them are in the attached CSV file.")]
    await message.reply_text("\n".join(lines)[:4096])
    reachable = await officials.owners_reachable(services, venues)
    # Hundreds of thousands of rows for a whole city: built (and zipped if too big) off the event loop.
    document = await asyncio.to_thread(officials.inactive_csv, _, services, venues, reachable)
    filename, document = await asyncio.to_thread(
        officials.fit_document,
        f"inactive-{region.id.replace('/', '-')}-{services.today().isoformat()}.csv",
        document,
    )
    await message.reply_document(
        document=document,
        filename=filename,
        caption=_("Venues without scans in the last {days} days: {region}").format(days=days, region=label),
    )


# ---- Tracing and exposure alerts ---------------------------------------------------------------------


async def trace_command(update: Update, context: BotContext, access: Access) -> None:
    """`/trace CODE FROM TO`: the visits overlapping a window as a CSV file; every look-up is audited."""
    _ = context.gettext
    services = context.services
    message = update.effective_message
    if message is None:
        return
    tz = services.settings.tz
    code, window = officials.parse_venue_window(context.args or [], tz, now=services.now(), command="trace")
    trace = await officials.run_trace(services, access, actor_of(update), code, window)
    where = f"{trace.venue.name} ({trace.venue.code})"
    if not trace.visits:
        await message.reply_text(
            _("No visits at {venue} overlap {window}. This look-up was recorded in the audit log.").format(
                venue=where, window=window.local(tz)
            )
        )
        return
    document = officials.trace_csv(_, trace.visits, trace.profiles, tz, services.now())
    await message.reply_document(
        document=document,
        filename=f"trace-{trace.venue.code}-{window.start.astimezone(tz):%Y%m%d-%H%M}.csv",
        caption=_(
            "{count} visits at {venue} overlap {window}. This look-up was recorded in the audit log."
        ).format(count=format_number(len(trace.visits), context.lang), venue=where, window=window.local(tz)),
    )


def exposure_data(code: str, window: Window) -> str:
    return f"{CB_EXPOSURE}{code}:{int(window.start.timestamp())}:{int(window.end.timestamp())}"


def parse_exposure_data(data: str) -> tuple[str, Window] | None:
    parts = data.removeprefix(CB_EXPOSURE).split(":")
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        return None
    start = datetime.fromtimestamp(int(parts[1]), UTC)
    end = datetime.fromtimestamp(int(parts[2]), UTC)
    return parts[0], Window(start, end)


async def exposure_command(update: Update, context: BotContext, access: Access) -> None:
    """`/exposure CODE FROM TO`: how many people would be alerted, and a button to confirm."""
    _ = context.gettext
    services = context.services
    message = update.effective_message
    if message is None:
        return
    tz = services.settings.tz
    code, window = officials.parse_venue_window(
        context.args or [], tz, now=services.now(), command="exposure"
    )
    plan = await officials.plan_exposure(services, access, code, window)
    where = f"{plan.venue.name} ({plan.venue.code})"
    already = ""
    if plan.already_alerted:
        already = "\n" + _(
            "{count} people were already alerted about these visits and will not be alerted again."
        ).format(count=format_number(plan.already_alerted, context.lang))
    if not plan.people:
        await message.reply_text(
            _("Nobody to alert: no one checked in at {venue} during {window}.").format(
                venue=where, window=window.local(tz)
            )
            + already
        )
        return
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    _("Send the alert to {count} people").format(
                        count=format_number(plan.people, context.lang)
                    ),
                    callback_data=exposure_data(plan.venue.code, window),
                )
            ],
            [InlineKeyboardButton(_("Cancel"), callback_data=CB_EXPOSURE_CANCEL)],
        ]
    )
    await message.reply_text(
        _(
            "{count} people checked in at {venue} during {window}. Send each of them an exposure alert?"
        ).format(count=format_number(plan.people, context.lang), venue=where, window=window.local(tz))
        + already,
        reply_markup=markup,
    )


async def exposure_confirmed(update: Update, context: BotContext, access: Access) -> None:
    query = update.callback_query
    if query is None or query.data is None:
        return
    _ = context.gettext
    services = context.services
    parsed = parse_exposure_data(query.data)
    if parsed is None:
        await query.answer(_("This button has expired."))
        return
    code, window = parsed
    plan = await officials.plan_exposure(services, access, code, window)
    queued = await officials.send_exposure(services, actor_of(update), plan)
    await query.answer()
    await query.edit_message_text(
        _(
            "Alerts queued for {count} people at {venue}; they go out within minutes. "
            "This alert was recorded in the audit log."
        ).format(count=format_number(queued, context.lang), venue=f"{plan.venue.name} ({plan.venue.code})")
    )


async def exposure_cancelled(update: Update, context: BotContext) -> None:
    query = update.callback_query
    if query is None:
        return
    _ = context.gettext
    await query.answer()
    await query.edit_message_text(_("Cancelled: nobody was alerted."))


# ---- Audit ------------------------------------------------------------------------------------------


async def audit_command(update: Update, context: BotContext, access: Access) -> None:
    """`/audit [YYYY-MM-DD]`: the latest recorded actions (admins)."""
    _ = context.gettext
    services = context.services
    tz = services.settings.tz
    args = context.args or []
    since_day = parse_day(args[0]) if args else services.today() - timedelta(days=7)
    since = datetime(since_day.year, since_day.month, since_day.day, tzinfo=tz).astimezone(UTC)
    entries = await context.repos.audit.since(since, limit=SHOWN_AUDIT + 1)
    if not entries:
        await tell(update, _("Nothing was recorded since {day}.").format(day=since_day.isoformat()))
        return
    lines = [_("Audit log since {day}, newest first:").format(day=since_day.isoformat())]
    lines += [officials.audit_line(entry, tz) for entry in entries[:SHOWN_AUDIT]]
    if len(entries) > SHOWN_AUDIT:
        lines.append(_("(more: quetma audit --since {day})").format(day=since_day.isoformat()))
    await tell(update, "\n".join(lines)[:4096])


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handler(CommandHandler("invite", guarded(invite_command, admin=True)))
    app.add_handler(CommandHandler("officials", guarded(officials_command, admin=True)))
    app.add_handler(CommandHandler("audit", guarded(audit_command, admin=True)))
    app.add_handler(CommandHandler("report", guarded(report_command)))
    app.add_handler(CommandHandler("subscribe", guarded(subscribe_command)))
    app.add_handler(CommandHandler("unsubscribe", guarded(unsubscribe_command)))
    app.add_handler(CommandHandler("subscriptions", guarded(subscriptions_command)))
    app.add_handler(CommandHandler("inactive", guarded(inactive_command)))
    app.add_handler(CommandHandler("trace", guarded(trace_command)))
    app.add_handler(CommandHandler("exposure", guarded(exposure_command)))
    app.add_handler(CallbackQueryHandler(guarded(revoke_button, admin=True), pattern=f"^{CB_REVOKE}"))
    app.add_handler(CallbackQueryHandler(guarded(subscribe_button), pattern=f"^{CB_SUBSCRIBE}"))
    app.add_handler(CallbackQueryHandler(guarded(unsubscribe_button), pattern=f"^{CB_UNSUBSCRIBE}"))
    app.add_handler(CallbackQueryHandler(exposure_cancelled, pattern=f"^{CB_EXPOSURE_CANCEL}$"))
    app.add_handler(CallbackQueryHandler(guarded(exposure_confirmed), pattern=f"^{CB_EXPOSURE}"))


__all__ = ["OFFICIAL_COMMANDS", "register"]
