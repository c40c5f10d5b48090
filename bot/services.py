"""What handlers and jobs need, built once by the composition root."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from bot.clock import Clock, local_day
from bot.payload import PayloadKind, deep_link, sign_payload
from bot.regions import RegionCatalogue
from bot.settings import Settings
from storage.database import Repos
from storage.models import Venue, Visit

CheckinHook = Callable[["Services", Venue, Visit], Awaitable[None]]


@dataclass
class Services:
    """Settings, repositories, clock and catalogues shared by the whole process."""

    settings: Settings
    repos: Repos
    clock: Clock
    regions: RegionCatalogue
    secret: bytes
    bot_username: str
    checkin_hooks: list[CheckinHook] = field(default_factory=list)

    def now(self) -> datetime:
        return self.clock.now()

    def today(self) -> date:
        """The current local day."""
        return local_day(self.clock.now(), self.settings.tz)

    def checkin_payload(self, venue_code: str) -> str:
        return sign_payload(self.secret, PayloadKind.CHECKIN, venue_code)

    def checkin_link(self, venue: Venue | str) -> str:
        """The deep link printed on a venue's poster."""
        code = venue.code if isinstance(venue, Venue) else venue
        return deep_link(self.bot_username, self.checkin_payload(code))

    def link(self, kind: PayloadKind, body: str) -> str:
        """A signed deep link of any kind (invites)."""
        return deep_link(self.bot_username, sign_payload(self.secret, kind, body))

    async def forget_user(self, user_id: int) -> int:
        """Delete a person's check-ins and profile (anonymous counters stay); the number of check-ins deleted."""
        deleted = await self.repos.checkins.forget_user(user_id)
        await self.repos.users.delete(user_id)
        await self.repos.outbox.drop_pending_for(user_id, "forgotten")
        return deleted
