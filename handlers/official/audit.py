"""`/audit [YYYY-MM-DD]`: the latest recorded actions, for admins."""

from __future__ import annotations

from datetime import timedelta

from telegram import Update

from bot.app.context import BotContext
from bot.clock import local_day
from bot.officials import Access, audit_text
from bot.officials.windows import parse_day
from bot.text import fit_message
from handlers.official.common import tell

SHOWN_AUDIT = 30


async def audit_command(update: Update, context: BotContext, access: Access) -> None:
    """`/audit [YYYY-MM-DD]`: the latest recorded actions (admins)."""
    _ = context.gettext
    args = context.args or []
    today = local_day(context.clock.now(), context.tz)
    since_day = parse_day(" ".join(args), today) if args else today - timedelta(days=7)
    entries = await context.officials.audit.since(since_day, limit=SHOWN_AUDIT + 1)
    if not entries:
        await tell(update, _("Nothing was recorded since {day}.").format(day=since_day.isoformat()))
        return
    lines = [_("Audit log since {day}, newest first:").format(day=since_day.isoformat())]
    region = context.officials.access.label
    lines += [audit_text(entry, context.tz, _, region) for entry in entries[:SHOWN_AUDIT]]
    if len(entries) > SHOWN_AUDIT:
        lines.append(_("(more: quetma audit --since {day})").format(day=since_day.isoformat()))
    await tell(update, fit_message("\n".join(lines)))
