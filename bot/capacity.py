"""The capacity alert: the owner and staff hear once when a venue fills up, again only after it emptied.

An effect of a check-in (and of "+1 person"), built by the composition root and run by
`bot.checkins.Checkins` after the visit is stored.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.checkins import Arrival
from bot.clock import local_day
from bot.i18n import Gettext, format_number, gettext_for, languages_of
from bot.presence import present_at
from storage.checkins import CheckinRepo
from storage.models import CapacityAlarm, Venue, Visit
from storage.outbox import OutboundMessage, OutboxRepo
from storage.users import UserRepo
from storage.venues import VenueRepo

log = logging.getLogger(__name__)

# An alert is re-armed once presence has dropped below 80% of capacity.
REARM_PERCENT = 80
# A day-old alert no longer holds the next one back.
ALERT_MEMORY = timedelta(days=1)
# Stored times have millisecond precision; a query up to "now" must include a check-in made now.
_STORED_PRECISION = timedelta(milliseconds=1)


def lowest_presence(visits: Sequence[Visit], start: datetime, end: datetime) -> int:
    """The fewest people inside at any moment of [start, end].

    Presence only falls when a visit ends, so the minimum is at `start` or right after an end.
    """
    running = present_at(visits, start)
    lowest = running
    changes: dict[datetime, int] = {}
    for visit in visits:
        if start < visit.checkin_at <= end:
            changes[visit.checkin_at] = changes.get(visit.checkin_at, 0) + visit.party
        if start < visit.ended_at <= end:
            changes[visit.ended_at] = changes.get(visit.ended_at, 0) - visit.party
    for moment in sorted(changes):
        running += changes[moment]
        lowest = min(lowest, running)
    return lowest


def rearm_level(capacity: int) -> int:
    """Presence must drop below this many people before another alert."""
    return -(-capacity * REARM_PERCENT // 100)


def alert_due(visits: Sequence[Visit], capacity: int, alarm: CapacityAlarm | None, now: datetime) -> bool:
    """At or over capacity now, and either never alerted or below 80% at some moment since the last alert."""
    if present_at(visits, now) < capacity:
        return False
    if alarm is None or alarm.last_alert_at <= now - ALERT_MEMORY:
        return True
    return lowest_presence(visits, alarm.last_alert_at, now) < rearm_level(capacity)


def capacity_alert_text(_: Gettext, lang: str, venue: Venue, present: int, capacity: int) -> str:
    return "\n".join(
        [
            _.ngettext(
                "⚠️ {venue} is full: {present} person inside now, capacity {capacity}.",
                "⚠️ {venue} is full: {present} people inside now, capacity {capacity}.",
                present,
            ).format(
                venue=venue.name, present=format_number(present, lang), capacity=format_number(capacity, lang)
            ),
            _(
                "Please ask people to wait outside until others leave. The next alert comes only after "
                "fewer than {level} people are inside and it fills up again."
            ).format(level=format_number(rearm_level(capacity), lang)),
        ]
    )


@dataclass(frozen=True)
class CapacityAlert:
    """Check-in effect: queue one alert to the owner and staff when the venue fills up."""

    venues: VenueRepo
    visits: CheckinRepo
    users: UserRepo
    outbox: OutboxRepo
    tz: ZoneInfo

    async def __call__(self, arrival: Arrival) -> None:
        venue, now = arrival.venue, arrival.at
        capacity = venue.capacity
        if not capacity:
            return
        alarm = venue.capacity_alarm
        since = alarm.last_alert_at if alarm and alarm.last_alert_at > now - ALERT_MEMORY else now
        visits = await self.visits.overlapping(venue.code, since, now + _STORED_PRECISION)
        if not alert_due(visits, capacity, alarm, now):
            return
        day = local_day(now, self.tz).isoformat()
        noted = await self.venues.record_capacity_alert(venue.code, previous=alarm, at=now, day=day)
        if noted is None:  # another check-in raised this alert a moment ago
            return
        present = present_at(visits, now)
        recipients = (
            [venue.owner_id, *venue.staff_ids] if venue.owner_id is not None else list(venue.staff_ids)
        )
        languages = await languages_of(self.users, recipients)
        messages = [
            OutboundMessage(
                key=f"capacity:{venue.code}:{day}:{noted.count}:{user_id}",
                kind="capacity",
                chat_id=user_id,
                text=capacity_alert_text(gettext_for(lang), lang, venue, present, capacity),
                meta={"venue": venue.code, "present": present, "capacity": capacity},
            )
            for user_id, lang in languages.items()
        ]
        queued = await self.outbox.enqueue_many(messages, now)
        log.info("venue %s reached capacity: %d alerts queued", venue.code, queued)
