"""Transitional: settings, repositories and clock for code not yet moved to a use case.

Built once by the composition root (`bot.app.container`) and frozen. Use cases take narrow
dependencies instead; this goes away when the last caller has moved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bot.app.settings import Settings
from bot.clock import Clock, local_day
from bot.payload import Signer
from bot.regions import RegionCatalogue
from storage.database import Repos


@dataclass(frozen=True)
class Services:
    """Settings, repositories, clock and catalogues shared by the whole process."""

    settings: Settings
    repos: Repos
    clock: Clock
    regions: RegionCatalogue
    signer: Signer

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
