"""A venue's poster: a photo to look at and a print-ready A4 PDF."""

from __future__ import annotations

import asyncio

from telegram import CallbackQuery

from bot.app.context import BotContext
from bot.poster import PosterCard, render_poster, render_poster_preview_png
from bot.venues import poster_card
from handlers.owner.access import VenueAction
from storage.models import Venue


def render_poster_files(card: PosterCard) -> tuple[bytes, bytes]:
    """(preview PNG, A4 PDF): CPU work for a worker thread."""
    return render_poster_preview_png(card), render_poster(card, "pdf")


async def send_poster(context: BotContext, chat_id: int, venue: Venue) -> None:
    """The poster as a photo to look at and as a print-ready A4 PDF."""
    _ = context.gettext
    card = poster_card(venue, context.regions, context.links.checkin(venue.code))
    preview, pdf = await asyncio.to_thread(render_poster_files, card)
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
