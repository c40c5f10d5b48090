"""Venues that stopped scanning: the follow-up list wards take out for inspections."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from bot.clock import Clock, local_day
from bot.i18n import N_
from bot.officials.access import Access, BadInput, OfficialAccess
from bot.regions import Region
from storage.models import Venue
from storage.users import UserRepo
from storage.venues import VenueRepo

INACTIVE_DEFAULT_DAYS = 3
INACTIVE_MAX_DAYS = 90
DAYS_RANGE = N_("Choose a number of days from 1 to 90, for example: /inactive 7")
# Owners are looked up in chunks so one query never carries hundreds of thousands of ids.
OWNER_CHUNK = 5000


def check_days(days: int) -> int:
    """Refuse a number of days outside 1..90."""
    if not 1 <= days <= INACTIVE_MAX_DAYS:
        raise BadInput(DAYS_RANGE)
    return days


@dataclass(frozen=True)
class Inactive:
    """Venues of a region without a scan in the last `days` days, as of `day`."""

    region: Region
    days: int
    day: date
    venues: list[Venue]


@dataclass(frozen=True)
class InactiveVenues:
    """Active venues registered at least N days ago without a check-in in the last N days (today included)."""

    access: OfficialAccess
    venues: VenueRepo
    users: UserRepo
    clock: Clock
    tz: ZoneInfo

    async def inactive_venues(
        self, access: Access, *, days: int = INACTIVE_DEFAULT_DAYS, place: str | None = None
    ) -> Inactive:
        check_days(days)
        region = self.access.region(access, place)
        today = local_day(self.clock.now(), self.tz)
        return Inactive(region, days, today, await self.in_region(region.id, days, today))

    async def in_region(self, region_id: str, days: int, today: date) -> list[Venue]:
        cutoff = (today - timedelta(days=days)).isoformat()
        since = (today - timedelta(days=days - 1)).isoformat()
        return await self.venues.inactive(region_id, registered_by=cutoff, no_checkin_since=since)

    async def owners_reachable(self, venues: Sequence[Venue]) -> dict[int, bool]:
        """Whether each owner still has a profile the bot can message."""
        owners = sorted({venue.owner_id for venue in venues if venue.owner_id is not None})
        reachable: dict[int, bool] = {}
        for start in range(0, len(owners), OWNER_CHUNK):
            chunk = owners[start : start + OWNER_CHUNK]
            profiles = await self.users.get_many(chunk)
            reachable.update(
                {owner: owner in profiles and not profiles[owner].unreachable for owner in chunk}
            )
        return reachable
