"""Transitional: settings, repositories and clock for code not yet moved to a use case.

Built once by the composition root (`bot.app.container`) and frozen. Use cases take narrow
dependencies instead; this goes away when the last caller has moved.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime

from bot.app.settings import Settings
from bot.clock import Clock, local_day
from bot.payload import Signer
from bot.regions import RegionCatalogue
from storage.database import Repos
from storage.models import Venue, Visit

CheckinHook = Callable[["Services", Venue, Visit], Awaitable[None]]


@dataclass(frozen=True)
class Services:
    """Settings, repositories, clock and catalogues shared by the whole process."""

    settings: Settings
    repos: Repos
    clock: Clock
    regions: RegionCatalogue
    signer: Signer
    checkin_hooks: tuple[CheckinHook, ...] = ()

    @property
    def secret(self) -> bytes:
        return self.signer.secret

    def now(self) -> datetime:
        return self.clock.now()

    def today(self) -> date:
        """The current local day."""
        return local_day(self.clock.now(), self.settings.tz)

    def checkin_payload(self, venue_code: str) -> str:
        return self.signer.checkin(venue_code)

    async def forget_user(self, user_id: int) -> int:
        """Delete a person's check-ins and profile (anonymous counters stay); the number of check-ins deleted."""
        deleted = await self.repos.checkins.forget_user(user_id)
        await self.repos.users.delete(user_id)
        # Memberships go too: the venues they were staff of, the invites they opened (still spent).
        await self.repos.venues.forget_staff(user_id)
        await self.repos.invites.forget_user(user_id)
        await self.repos.outbox.drop_pending_for(user_id, "forgotten")
        return deleted
