"""Venue owners and their staff: registration, posters, figures, settings, staff invites."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from handlers.owner import access, cards, registration, today, venues
from handlers.owner.conversation import owner_conversation


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """The conversation first (its steps see text before anyone else), then commands and buttons."""
    owner_conversation().install(app)
    app.add_handler(CommandHandler("myvenues", cards.myvenues_command))
    app.add_handler(CommandHandler("today", today.today_command))
    app.add_handler(CommandHandler("cancel", registration.nothing_to_cancel))
    app.add_handler(CallbackQueryHandler(venues.venue_button, pattern=f"^{access.PREFIX}"))
    app.add_handler(CallbackQueryHandler(cards.list_page, pattern=f"^{access.LIST_PREFIX}"))
