"""Checking in at a venue, and everything that follows from it.

A scan (or a typed code) becomes a visit here. The rules: an unknown or deactivated venue records
nothing; a re-scan at the same venue within 30 minutes continues the visit instead of counting a
new one (after a check-out too: the person came back); a person is in one place at a time, so a
scan ends their open visits anywhere else at the moment of the scan. After a new visit is stored, and after a companion is added with "+1 person", the
effects the composition root chose run in order (the capacity alert, the metrics counter), so a
front end only renders the outcome. The health declaration is offered for new visits at venues
that ask for it; its answers come back through `declare_health`.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock
from storage.checkins import RESCAN_WINDOW, CheckinRepo
from storage.database import time_budget
from storage.errors import Unavailable
from storage.models import HealthAnswers, Venue, Visit
from storage.venues import VenueRepo

log = logging.getLogger(__name__)

HISTORY_DAYS = 14
# How long a check-in waits on the database before the person is told to scan again: long enough
# for a busy moment, short enough that nobody walks away thinking a late confirmation is a new one.
PATIENCE_SECONDS = 5.0


@dataclass(frozen=True)
class Arrival:
    """People arrived at a venue: a new visit, or one more person added to a visit."""

    venue: Venue
    visit: Visit
    at: datetime
    added_person: bool = False  # "+1 person", not a new check-in


CheckinEffect = Callable[[Arrival], Awaitable[None]]


@dataclass(frozen=True)
class UnknownVenue:
    """No venue has this code: nothing was recorded."""

    code: str


@dataclass(frozen=True)
class InactiveVenue:
    """The venue no longer uses check-in: nothing was recorded."""

    venue: Venue


@dataclass(frozen=True)
class Recorded:
    """The person is checked in: a new visit, or an earlier one continued by a re-scan."""

    visit: Visit
    venue: Venue
    continued: bool
    ask_health_declaration: bool
    returned: bool = False  # continued after the person had checked out (or been checked out)


@dataclass(frozen=True)
class NotRecorded:
    """The database did not answer in time: nothing was recorded, the person should scan again."""

    code: str


CheckinOutcome = UnknownVenue | InactiveVenue | Recorded | NotRecorded


@dataclass(frozen=True)
class PartyGrown:
    """One more (or, taking back a mistake, one fewer) person counted in a visit."""

    visit: Visit
    venue: Venue | None  # None once the venue is gone


@dataclass(frozen=True)
class History:
    """A person's visits of the last days, newest first, as of `at`."""

    visits: list[Visit]
    at: datetime
    days: int


class Declaration(enum.Enum):
    """What became of a health declaration's answers."""

    RECORDED = "recorded"
    ALREADY_RECORDED = "already-recorded"
    REFUSED = "refused"  # no such visit of this person: a forged or foreign button


@dataclass(frozen=True)
class Checkins:
    """Check in, check out, add a companion, declare health, list one's visits."""

    venues: VenueRepo
    visits: CheckinRepo
    clock: Clock
    effects: tuple[CheckinEffect, ...] = ()
    patience: float = PATIENCE_SECONDS

    async def record(self, user_id: int, venue_code: str) -> CheckinOutcome:
        """Check a person in at a venue code, answering within the patience whatever the database does."""
        try:
            with time_budget(self.patience):
                outcome = await self._record(user_id, venue_code)
        except Unavailable:
            log.warning("check-in at %s not recorded: the database did not answer in time", venue_code)
            return NotRecorded(venue_code)
        if isinstance(outcome, Recorded) and not outcome.continued:
            await self._after(Arrival(outcome.venue, outcome.visit, outcome.visit.checkin_at))
        return outcome

    async def _record(self, user_id: int, venue_code: str) -> CheckinOutcome:
        venue = await self.venues.get(venue_code)
        if venue is None:
            return UnknownVenue(venue_code)
        if not venue.active:
            return InactiveVenue(venue)
        now = self.clock.now()
        recent = await self.visits.latest_at_venue(user_id, venue.code, now - RESCAN_WINDOW)
        returned = recent is not None and recent.checkout_at is not None
        if recent is not None and returned:
            recent = await self.visits.reopen(recent.id)
        # One place at a time: this scan ends the person's visit anywhere else, at this moment.
        await self.visits.end_open_visits(user_id, now, keep=recent.id if recent else None)
        if recent is not None:
            return Recorded(recent, venue, continued=True, ask_health_declaration=False, returned=returned)
        visit = await self.visits.record_visit(venue, user_id, now)
        return Recorded(
            visit, venue, continued=False, ask_health_declaration=venue.settings.health_declaration
        )

    async def check_out(self, user_id: int, visit_id: str | None = None) -> Visit | None:
        """End a person's own visit (their newest open one without an id); None when none is open."""
        now = self.clock.now()
        if visit_id is None:
            open_visits = await self.visits.open_visits(user_id, now)
            if not open_visits:
                return None
            visit_id = open_visits[0].id
        return await self.visits.check_out(visit_id, user_id, now)

    async def add_person(self, user_id: int, visit_id: str) -> PartyGrown | None:
        """Count one more person in a person's own open visit; None when it ended or is full."""
        now = self.clock.now()
        visit = await self.visits.add_person(visit_id, user_id, now)
        if visit is None:
            return None
        venue = await self.venues.get(visit.venue_code)
        if venue is not None:  # one more person present: the capacity alert and the like
            await self._after(Arrival(venue, visit, now, added_person=True))
        return PartyGrown(visit, venue)

    async def remove_person(self, user_id: int, visit_id: str) -> PartyGrown | None:
        """Take back a "+1" pressed by mistake in a person's own open visit; None when there is none to take back."""
        visit = await self.visits.remove_person(visit_id, user_id, self.clock.now())
        if visit is None:
            return None
        return PartyGrown(visit, await self.venues.get(visit.venue_code))

    async def declare_health(self, user_id: int, visit_id: str, answers: HealthAnswers | None) -> Declaration:
        """Store a visit's health declaration (None: skipped); it is taken once."""
        skipped = answers is None
        stored = await self.visits.record_health(
            visit_id, user_id, answers or HealthAnswers(), skipped=skipped
        )
        if stored is not None:
            return Declaration.RECORDED
        visit = await self.visits.get(visit_id)
        if visit is None or visit.user_id != user_id:
            return Declaration.REFUSED
        return Declaration.ALREADY_RECORDED

    async def history(self, user_id: int, days: int = HISTORY_DAYS) -> History:
        """A person's visits of the last `days` days, newest first."""
        now = self.clock.now()
        return History(await self.visits.history(user_id, now - timedelta(days=days)), now, days)

    async def _after(self, arrival: Arrival) -> None:
        """Run the effects; the visit is stored already, so a database too slow for them skips them."""
        try:
            with time_budget(self.patience):
                for effect in self.effects:
                    await effect(arrival)
        except Unavailable:
            log.warning(
                "effects of a check-in at %s skipped: the database did not answer", arrival.venue.code
            )
