"""`/today` and the 📊 Today button: a venue's figures so far."""

from __future__ import annotations

from telegram import CallbackQuery, Update

from bot.app.context import BotContext
from bot.presence import render_today
from handlers.owner.access import VenueAction
from handlers.owner.cards import no_venues_text
from storage.models import Venue

MESSAGE_BUDGET = 3500  # Telegram allows 4096 characters per message


def in_messages(blocks: list[str], budget: int = MESSAGE_BUDGET) -> list[str]:
    """Blocks joined into as few messages as fit the budget (a block is never cut)."""
    messages: list[str] = []
    chunk: list[str] = []
    for block in blocks:
        if chunk and sum(len(b) + 2 for b in chunk) + len(block) > budget:
            messages.append("\n\n".join(chunk))
            chunk = []
        chunk.append(block)
    if chunk:
        messages.append("\n\n".join(chunk))
    return messages


async def today_command(update: Update, context: BotContext) -> None:
    """`/today`: today's figures for every venue the user owns or staffs."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None:
        return
    _ = context.gettext
    figures = await context.venue_today.of_member(user.id)
    if not figures:
        await context.bot.send_message(chat.id, no_venues_text(_))
        return
    blocks = [render_today(one, _, context.lang, context.tz) for one in figures]
    for text in in_messages(blocks):
        await context.bot.send_message(chat.id, text)


async def on_today(query: CallbackQuery, context: BotContext, venue: Venue, action: VenueAction) -> None:
    await query.answer()
    figures = await context.venue_today.of_venue(venue)
    text = render_today(figures, context.gettext, context.lang, context.tz)
    await context.bot.send_message(query.from_user.id, text)
