"""`/trace` (who was at a venue, as a CSV file) and `/exposure` (alert them, after a confirmation)."""

from __future__ import annotations

from datetime import UTC, datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.app.context import BotContext
from bot.i18n import format_number
from bot.officials import Access, Window, parse_venue_window, trace_csv
from bot.officials.confirmations import sign_action, verify_action
from handlers.common import tell_outcome
from handlers.official.common import actor_of

CB_EXPOSURE = "off:exp:"
CB_EXPOSURE_CANCEL = "off:expno"


async def trace_command(update: Update, context: BotContext, access: Access) -> None:
    """`/trace CODE FROM TO`: the visits overlapping a window as a CSV file; every look-up is audited."""
    _ = context.gettext
    message = update.effective_message
    if message is None:
        return
    tz = context.tz
    code, window = parse_venue_window(context.args or [], tz, now=context.clock.now(), command="trace")
    trace = await context.officials.tracing.trace_visits(access, actor_of(update), code, window)
    where = f"{trace.venue.name} ({trace.venue.code})"
    if not trace.visits:
        await message.reply_text(
            _("No visits at {venue} overlap {window}. This look-up was recorded in the audit log.").format(
                venue=where, window=window.local(tz)
            )
        )
        return
    document = trace_csv(_, trace.visits, trace.profiles, tz, context.clock.now())
    await message.reply_document(
        document=document,
        filename=f"trace-{trace.venue.code}-{window.start.astimezone(tz):%Y%m%d-%H%M}.csv",
        caption=_.ngettext(
            "{count} visit at {venue} overlaps {window}. This look-up was recorded in the audit log.",
            "{count} visits at {venue} overlap {window}. This look-up was recorded in the audit log.",
            len(trace.visits),
        ).format(count=format_number(len(trace.visits), context.lang), venue=where, window=window.local(tz)),
    )


def exposure_data(context: BotContext, user_id: int, code: str, window: Window) -> str:
    """The confirmation button's data: the previewed action, signed for the official who saw it."""
    start, end = (str(int(moment.timestamp())) for moment in (window.start, window.end))
    return sign_action(context.signer.secret, user_id, CB_EXPOSURE, code, start, end)


def parse_exposure_data(context: BotContext, user_id: int, data: str) -> tuple[str, Window] | None:
    """The venue and window of a genuine confirmation button, None for anything altered or forged."""
    fields = verify_action(context.signer.secret, user_id, CB_EXPOSURE, data, fields=3)
    if fields is None:
        return None
    code, start, end = fields
    if not all(part.isascii() and part.isdigit() for part in (start, end)):
        return None
    try:
        window = Window(datetime.fromtimestamp(int(start), UTC), datetime.fromtimestamp(int(end), UTC))
    except (OverflowError, ValueError, OSError):  # timestamps no datetime can hold
        return None
    return code, window


async def exposure_command(update: Update, context: BotContext, access: Access) -> None:
    """`/exposure CODE FROM TO`: how many people would be alerted, and a button to confirm."""
    _ = context.gettext
    message = update.effective_message
    if message is None:
        return
    tz = context.tz
    code, window = parse_venue_window(context.args or [], tz, now=context.clock.now(), command="exposure")
    plan = await context.officials.exposure.plan_exposure(access, code, window)
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
                    _.ngettext(
                        "Send the alert to {count} person", "Send the alert to {count} people", plan.people
                    ).format(count=format_number(plan.people, context.lang)),
                    callback_data=exposure_data(context, access.user_id, plan.venue.code, window),
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
    parsed = parse_exposure_data(context, access.user_id, query.data)
    if parsed is None:
        await query.answer(_("This button has expired."))
        return
    code, window = parsed
    sent = await context.officials.exposure.send_exposure_alerts(access, actor_of(update), code, window)
    await tell_outcome(
        query,
        context,
        _(
            "Alerts queued for {count} people at {venue}; they go out within minutes. "
            "This alert was recorded in the audit log."
        ).format(
            count=format_number(sent.queued, context.lang), venue=f"{sent.venue.name} ({sent.venue.code})"
        ),
    )


async def exposure_cancelled(update: Update, context: BotContext) -> None:
    query = update.callback_query
    if query is None:
        return
    _ = context.gettext
    await query.answer()
    await query.edit_message_text(_("Cancelled: nobody was alerted."))
