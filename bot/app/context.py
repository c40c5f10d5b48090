"""The application subclass and typed callback context handlers receive."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from telegram.ext import Application, CallbackContext, ExtBot, JobQueue
from telegram.request import BaseRequest

from bot.app.container import Container
from bot.app.settings import Settings
from bot.checkins import Checkins
from bot.clock import Clock
from bot.i18n import Gettext, gettext_for, pick_language
from bot.invites import CreateInvite, JoinAsOfficial, JoinAsStaff
from bot.officials import OfficialUseCases
from bot.payload import Links, Signer
from bot.presence import VenueToday
from bot.privacy import Privacy
from bot.profiles import Profiles
from bot.regions import RegionCatalogue
from bot.staff import VenueStaff
from bot.venues import Venues
from storage.database import Repos, deadline

# How long all the database work of one update may take. A stalled database then costs a person a
# polite "try again" after this long rather than a chat that never answers; the driver has no read
# timeout of its own. Check-ins keep their own, shorter patience.
UPDATE_PATIENCE_SECONDS = 15.0


class QuetmaApplication(Application[Any, Any, Any, Any, Any, Any]):
    """PTB's Application carrying the process's container (built once, frozen)."""

    __slots__ = ("container", "http", "update_patience")

    def __init__(self, *, container: Container, http: Sequence[BaseRequest] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.container = container
        self.http = tuple(http)  # the bot's HTTP clients, closed here if start-up fails
        self.update_patience = UPDATE_PATIENCE_SECONDS

    async def process_update(self, update: object) -> None:
        """Handle one update, its database work within `update_patience` (tasks it starts inherit it)."""
        with deadline(self.update_patience):
            await super().process_update(update)


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
    def profiles(self) -> Profiles:
        return self.container.profiles

    @property
    def venues(self) -> Venues:
        """An owner's venues: register, list, settings, deactivation."""
        return self.container.venues

    @property
    def venue_today(self) -> VenueToday:
        """Today's figures of a venue (`/today`)."""
        return self.container.venue_today

    @property
    def checkins(self) -> Checkins:
        return self.container.checkins

    @property
    def privacy(self) -> Privacy:
        return self.container.privacy

    @property
    def officials(self) -> OfficialUseCases:
        """The officials' use cases: access, reports, inactive venues, tracing, exposure, audit."""
        return self.container.officials

    @property
    def repos(self) -> Repos:
        """Transitional: for code not yet moved to a use case."""
        return self.container.repos

    @property
    def create_invite(self) -> CreateInvite:
        return self.container.create_invite

    @property
    def join_as_staff(self) -> JoinAsStaff:
        return self.container.join_as_staff

    @property
    def join_as_official(self) -> JoinAsOfficial:
        return self.container.join_as_official

    @property
    def venue_staff(self) -> VenueStaff:
        return self.container.venue_staff

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
