"""The application subclass and typed callback context handlers receive."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot, JobQueue

from bot.i18n import Gettext, gettext_for, pick_language
from bot.services import Services
from storage.database import Repos


class QuetmaApplication(Application[Any, Any, Any, Any, Any, Any]):
    """PTB's Application carrying the process's services."""

    __slots__ = ("services",)

    def __init__(self, *, services: Services, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.services = services


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """Callback context exposing services instead of string-keyed dicts."""

    @property
    def services(self) -> Services:
        app = self.application
        assert isinstance(app, QuetmaApplication)  # noqa: S101 - built by bot.runtime
        return app.services

    @property
    def repos(self) -> Repos:
        return self.services.repos

    @property
    def lang(self) -> str:
        """The current user's language (cached in user_data by handlers.common)."""
        data = self.user_data
        if data:
            cached = data.get("lang")
            if isinstance(cached, str):
                return cached
        return pick_language(None, None)

    @property
    def gettext(self) -> Gettext:
        """The `_` function for the current user's language."""
        return gettext_for(self.lang)


JobQueueType = JobQueue[BotContext]
