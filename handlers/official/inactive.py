"""`/inactive [days] [place]`: venues without scans, the first few in the chat and all of them as a CSV."""

from __future__ import annotations

import asyncio

from telegram import Update

from bot.app.context import BotContext
from bot.i18n import format_number
from bot.officials import INACTIVE_DEFAULT_DAYS, Access, fit_document, inactive_csv
from bot.officials.inactive import check_days
from bot.officials.windows import parse_count
from bot.text import fit_message

SHOWN_INACTIVE = 20


async def inactive_command(update: Update, context: BotContext, access: Access) -> None:
    """`/inactive [days] [place]`: venues without a scan in the last days, the first 20 and a CSV of all."""
    _ = context.gettext
    message = update.effective_message
    if message is None:
        return
    args = list(context.args or [])
    days = INACTIVE_DEFAULT_DAYS
    typed = parse_count(args[0]) if args else None
    if typed is not None:
        days = typed
        args.pop(0)
    check_days(days)
    inactive = context.officials.inactive
    place = " ".join(args) or None
    region = context.officials.access.region(access, place)
    label = context.officials.access.label(region.id)
    if region.kind != "ward":
        await message.reply_text(
            _("Looking through the venues of {region}; a whole city can take a minute or two.").format(
                region=label
            )
        )
    found = await inactive.inactive_venues(access, days=days, place=place)
    venues = found.venues
    if not venues:
        await message.reply_text(
            _.ngettext(
                "Every venue in {region} registered at least {days} day ago had a scan in the last day.",
                "Every venue in {region} registered at least {days} days ago had a scan in the last {days} days.",
                days,
            ).format(region=label, days=days)
        )
        return
    lines = [
        _.ngettext(
            "{count} venue in {region} registered at least {days_ago} had no scan in {last_days}.",
            "{count} venues in {region} registered at least {days_ago} had no scan in {last_days}.",
            len(venues),
        ).format(
            count=format_number(len(venues), context.lang),
            region=label,
            days_ago=_.ngettext("{n} day ago", "{n} days ago", days).format(n=days),
            last_days=_.ngettext("the last day", "the last {n} days", days).format(n=days),
        ),
        _("Counted as of today, {day}; the daily report counts as of the day it reports on.").format(
            day=found.day.strftime("%d/%m/%Y")
        ),
        "",
    ]
    for venue in venues[:SHOWN_INACTIVE]:
        last = venue.last_checkin_day or _("never")
        ward = context.regions.require(venue.region_id).name
        lines.append(f"• {venue.code} · {venue.name} · {venue.address} · {ward} · {last}")
    if len(venues) > SHOWN_INACTIVE:
        lines += ["", _("All of them are in the attached CSV file.")]
    await message.reply_text(fit_message("\n".join(lines)))
    reachable = await inactive.owners_reachable(venues)
    # Hundreds of thousands of rows for a whole city: built (and zipped if too big) off the event loop.
    document = await asyncio.to_thread(inactive_csv, _, context.regions, venues, reachable, found.day)
    filename, document = await asyncio.to_thread(
        fit_document, f"inactive-{region.id.replace('/', '-')}-{found.day.isoformat()}.csv", document
    )
    await message.reply_document(
        document=document,
        filename=filename,
        caption=_.ngettext(
            "Venues without scans in the last day: {region}",
            "Venues without scans in the last {days} days: {region}",
            days,
        ).format(days=days, region=label),
    )
