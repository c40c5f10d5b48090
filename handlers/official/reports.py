"""`/report` and the morning reports: `/subscribe`, `/subscriptions`, `/unsubscribe` and their buttons."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.app.context import BotContext
from bot.i18n import Gettext
from bot.officials import Access
from bot.officials.windows import split_leading_day
from bot.regions import Region, UnknownRegion
from bot.reports import render_report
from handlers.official.common import tell, tell_with_buttons

CB_SUBSCRIBE = "off:sub:"
CB_UNSUBSCRIBE = "off:uns:"
MAX_CHILD_BUTTONS = 40


async def report_command(update: Update, context: BotContext, access: Access) -> None:
    """`/report [YYYY-MM-DD] [place]`: yesterday's figures for one's own area by default."""
    reports = context.officials.reports
    day, args = split_leading_day(context.args or [], reports.today())
    report = await reports.region_report(access, day=day, place=" ".join(args) or None)
    await tell(update, render_report(report, context.gettext, context.lang))


def region_buttons(regions: list[Region], prefix: str) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(region.name[:60], callback_data=f"{prefix}{region.id}") for region in regions
    ]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def summary_time(context: BotContext) -> str:
    return context.settings.official_summary_at.strftime("%H:%M")


async def subscribe_command(update: Update, context: BotContext, access: Access) -> None:
    """`/subscribe [place]`: buttons for one's area and its parts, or a search for a typed place."""
    _ = context.gettext
    regions = context.regions
    scope = regions.require(access.scope)
    typed = " ".join(context.args or []).strip()
    if typed:
        try:
            region = context.officials.access.resolve_region(access, typed)
        except UnknownRegion as exc:
            province = scope.path[1] if len(scope.path) > 1 else None
            candidates = regions.search_wards(province, typed) if province else []
            candidates += [r for r in exc.suggestions if r not in candidates]
            candidates = [r for r in candidates if regions.is_within(r.id, scope.id)][:8]
            if not candidates:
                raise
            if len(candidates) == 1:  # one place matches: nothing to choose
                await subscribe_to(update, context, access, candidates[0])
                return
            await tell_with_buttons(update, _("Which one?"), region_buttons(candidates, CB_SUBSCRIBE))
            return
        await subscribe_to(update, context, access, region)
        return
    choices = [scope]
    children = regions.children(scope.id)
    if len(children) <= MAX_CHILD_BUTTONS:
        choices += children
    text = _("Which area's report do you want every morning at {time}?").format(time=summary_time(context))
    if children:
        text += "\n" + _(
            "Or send /subscribe followed by a place name, for example: /subscribe {example}"
        ).format(example=children[0].name)
    await tell_with_buttons(update, text, region_buttons(choices, CB_SUBSCRIBE))


async def subscribe_to(update: Update, context: BotContext, access: Access, region: Region) -> None:
    _ = context.gettext
    added = await context.officials.subscriptions.subscribe(access, region)
    text = (
        _("Subscribed: the report for {region} will come every morning at {time}.")
        if added
        else _("You already get the report for {region} every morning at {time}.")
    ).format(region=context.officials.access.label(region.id), time=summary_time(context))
    if update.callback_query is not None:
        await update.callback_query.answer()
        await update.callback_query.edit_message_text(text)
    else:
        await tell(update, text)


async def subscribe_button(update: Update, context: BotContext, access: Access) -> None:
    query = update.callback_query
    if query is None or query.data is None:
        return
    region = context.regions.require(query.data.removeprefix(CB_SUBSCRIBE))
    await subscribe_to(update, context, access, region)


def subscriptions_text(_: Gettext, context: BotContext, regions: list[str]) -> str:
    if not regions:
        return _("You have no morning reports. Send /subscribe to get one.")
    lines = [_("Every morning at {time} you get the report for:").format(time=summary_time(context))]
    lines += [f"• {context.officials.access.label(region)}" for region in regions]
    return "\n".join(lines)


async def subscriptions_command(update: Update, context: BotContext, access: Access) -> None:
    _ = context.gettext
    regions = await context.officials.subscriptions.regions_of(access.user_id)
    text = subscriptions_text(_, context, regions)
    markup = unsubscribe_markup(_, context, regions) if regions else None
    if update.effective_message:
        await update.effective_message.reply_text(text, reply_markup=markup)


def unsubscribe_markup(_: Gettext, context: BotContext, regions: list[str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    _("Stop: {region}").format(region=context.regions.require(region).name)[:60],
                    callback_data=f"{CB_UNSUBSCRIBE}{region}",
                )
            ]
            for region in regions
        ]
    )


async def unsubscribe_command(update: Update, context: BotContext, access: Access) -> None:
    """`/unsubscribe [place]`: stop a morning report (buttons when no place is given)."""
    _ = context.gettext
    subscriptions = context.officials.subscriptions
    typed = " ".join(context.args or []).strip()
    if typed:
        region = context.regions.resolve(typed)
        removed = await subscriptions.unsubscribe(access.user_id, region.id)
        await tell(
            update,
            (
                _("Stopped: no more reports for {region}.")
                if removed
                else _("You had no report for {region}.")
            ).format(region=context.officials.access.label(region.id)),
        )
        return
    regions = await subscriptions.regions_of(access.user_id)
    if not regions:
        await tell(update, _("You have no morning reports. Send /subscribe to get one."))
        return
    await tell_with_buttons(update, _("Which report should stop?"), unsubscribe_markup(_, context, regions))


async def unsubscribe_button(update: Update, context: BotContext, access: Access) -> None:
    query = update.callback_query
    if query is None or query.data is None:
        return
    _ = context.gettext
    subscriptions = context.officials.subscriptions
    await subscriptions.unsubscribe(access.user_id, query.data.removeprefix(CB_UNSUBSCRIBE))
    await query.answer(_("Stopped."))
    regions = await subscriptions.regions_of(access.user_id)
    await query.edit_message_text(
        subscriptions_text(_, context, regions),
        reply_markup=unsubscribe_markup(_, context, regions) if regions else None,
    )
