"""Officials and admins: invites, region reports, subscriptions, inactive venues, tracing, exposure alerts, audit.

Each module parses a command or a button, calls one use case of `context.officials` and renders it.
"""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from handlers.common import OFFICIAL_COMMANDS
from handlers.official.audit import audit_command
from handlers.official.common import guarded
from handlers.official.inactive import inactive_command
from handlers.official.membership import (
    CB_REVOKE,
    invite_command,
    officials_command,
    revoke_button,
)
from handlers.official.reports import (
    CB_SUBSCRIBE,
    CB_UNSUBSCRIBE,
    report_command,
    subscribe_button,
    subscribe_command,
    subscriptions_command,
    unsubscribe_button,
    unsubscribe_command,
)
from handlers.official.tracing import (
    CB_EXPOSURE,
    CB_EXPOSURE_CANCEL,
    exposure_cancelled,
    exposure_command,
    exposure_confirmed,
    trace_command,
)


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
