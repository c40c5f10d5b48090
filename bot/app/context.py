"""The application subclass and typed callback context handlers receive."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from telegram.ext import Application, CallbackContext, ExtBot, JobQueue

from bot.app.container import Container
from bot.app.settings import Settings
from bot.clock import Clock
from bot.i18n import Gettext, gettext_for, pick_language
from bot.officials import OfficialUseCases
from bot.payload import Links, Signer
from bot.regions import RegionCatalogue
from bot.services import Services
from storage.database import Repos


class QuetmaApplication(Application[Any, Any, Any, Any, Any, Any]):
    """PTB's Application carrying the process's container (built once, frozen)."""

    __slots__ = ("container",)

    def __init__(self, *, container: Container, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.container = container


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """Callback context exposing typed dependencies instead of string-keyed dicts."""

    @property
    def container(self) -> Container:
        app = self.application
        assert isinstance(app, QuetmaApplication)  # noqa: S101 - built by bot.app.runtime
        return app.container

    @property
    def settings(self) -> Settings:
        return self.container.settings

    @property
    def clock(self) -> Clock:
        return self.container.clock

    @property
    def tz(self) -> ZoneInfo:
        return self.container.settings.tz

    @property
    def regions(self) -> RegionCatalogue:
        return self.container.regions

    @property
    def signer(self) -> Signer:
        return self.container.signer

    @property
    def links(self) -> Links:
        """Deep links to this bot (its username comes from getMe at start-up)."""
        return Links(self.container.signer, self.bot.username)

    @property
    def officials(self) -> OfficialUseCases:
        """The officials' use cases: access, reports, inactive venues, tracing, exposure, audit."""
        return self.container.officials

    @property
    def services(self) -> Services:
        """Transitional: for code not yet moved to a use case."""
        return self.container.services

    @property
    def repos(self) -> Repos:
        """Transitional: for code not yet moved to a use case."""
        return self.container.repos

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
