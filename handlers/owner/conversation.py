"""The owner's conversation: registering a venue, or typing a capacity or an auto check-out time."""

from __future__ import annotations

import warnings
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters
from telegram.warnings import PTBUserWarning

from bot.app.context import BotContext
from bot.app.persistence import SharedConversationHandler
from handlers.owner import registration as steps
from handlers.owner import registration_keyboards as keyboards
from handlers.owner import typed_settings
from handlers.owner.access import AUTO_ASK, CAPACITY, PREFIX

NAME = "owner"


def owner_conversation() -> SharedConversationHandler:
    """Registration and typed settings share one state per user: starting one ends the other."""
    text = filters.TEXT & ~filters.COMMAND
    other = ~filters.COMMAND & ~filters.TEXT & ~filters.StatusUpdate.ALL

    def button(callback: steps.Step, pattern: str) -> CallbackQueryHandler[BotContext, object]:
        return CallbackQueryHandler[BotContext, object](callback, pattern=pattern)

    states: dict[object, list[BaseHandler[Update, Any, object]]] = {
        steps.ASK_NAME: [
            MessageHandler(text, steps.got_name),
            MessageHandler(other, steps.reask(steps.ASK_NAME)),
        ],
        steps.ASK_ADDRESS: [
            MessageHandler(text, steps.got_address),
            MessageHandler(other, steps.reask(steps.ASK_ADDRESS)),
        ],
        steps.ASK_PROVINCE: [
            button(steps.chose_province, f"^{keyboards.CB_PROVINCE}"),
            MessageHandler(text, steps.typed_province),
            MessageHandler(other, steps.reask(steps.ASK_PROVINCE)),
        ],
        steps.ASK_WARD: [
            button(steps.chose_ward, f"^{keyboards.CB_WARD}"),
            button(steps.turned_ward_page, f"^{keyboards.CB_WARD_PAGE}"),
            button(steps.browse_wards, f"^{keyboards.CB_BROWSE}$"),
            button(steps.change_province, f"^{keyboards.CB_CHANGE_PROVINCE}$"),
            button(steps.chose_province, f"^{keyboards.CB_PROVINCE}"),
            MessageHandler(text, steps.typed_ward),
            MessageHandler(other, steps.reask(steps.ASK_WARD)),
        ],
        steps.ASK_CATEGORY: [
            button(steps.chose_category, f"^{keyboards.CB_CATEGORY}"),
            button(steps.chose_ward, f"^{keyboards.CB_WARD}"),
            MessageHandler(text | other, steps.reask(steps.ASK_CATEGORY)),
        ],
        steps.ASK_CAPACITY: [
            button(steps.skipped_capacity, f"^{keyboards.CB_SKIP}$"),
            button(steps.chose_category, f"^{keyboards.CB_CATEGORY}"),
            MessageHandler(text, steps.got_capacity),
            MessageHandler(other, steps.reask(steps.ASK_CAPACITY)),
        ],
        typed_settings.EDIT_CAPACITY: [
            MessageHandler(text, typed_settings.got_capacity),
            button(typed_settings.leave_edit, f"^{PREFIX}"),
        ],
        typed_settings.EDIT_AUTO_CHECKOUT: [
            MessageHandler(text, typed_settings.got_auto_checkout),
            MessageHandler(other, typed_settings.reask_auto_checkout),
            button(typed_settings.leave_edit, f"^{PREFIX}"),
        ],
    }
    with warnings.catch_warnings():
        # Buttons are tracked per chat and user, not per message, which is what these steps want.
        warnings.filterwarnings("ignore", message=".*per_message=False.*", category=PTBUserWarning)
        return SharedConversationHandler(
            entry_points=[
                CommandHandler("newvenue", steps.start),
                button(typed_settings.ask_capacity, f"^{PREFIX}{CAPACITY}:"),
                button(typed_settings.ask_auto_checkout, f"^{PREFIX}{AUTO_ASK}:"),
            ],
            states=states,
            fallbacks=[CommandHandler("cancel", steps.cancel)],
            name=NAME,
            persistent=True,
            allow_reentry=True,
        )
