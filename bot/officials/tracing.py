"""Who was at a venue during a window: the look-up behind contact tracing, always audited."""

from __future__ import annotations

from dataclasses import dataclass

from bot.officials.access import Access, OfficialAccess
from bot.officials.audit import Actor, AuditLog
from bot.officials.windows import Window
from storage.checkins import CheckinRepo
from storage.models import UserProfile, Venue, Visit
from storage.users import UserRepo


@dataclass(frozen=True)
class Trace:
    """Visits overlapping a window at one venue, with the people's profiles."""

    venue: Venue
    window: Window
    visits: list[Visit]
    profiles: dict[int, UserProfile]


@dataclass(frozen=True)
class Tracing:
    """Looks up the visits of a venue in a window; every look-up is recorded in the audit log."""

    access: OfficialAccess
    checkins: CheckinRepo
    users: UserRepo
    audit: AuditLog

    async def trace_visits(self, access: Access, actor: Actor, code: str, window: Window) -> Trace:
        venue = await self.access.require_venue(access, code)
        visits = await self.checkins.overlapping(venue.code, window.start, window.end)
        profiles = await self.users.get_many(sorted({visit.user_id for visit in visits}))
        await self.audit.record(
            actor, "trace", region=venue.region_id, venue_code=venue.code, window=window, rows=len(visits)
        )
        return Trace(venue, window, visits, profiles)
