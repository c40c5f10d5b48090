"""Today at a venue: check-ins so far, people present now, and the capacity alert."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.clock import Clock, local_day
from bot.i18n import Gettext, format_number, gettext_for, pick_language
from bot.services import Services
from storage.checkins import MAX_VISIT_LENGTH, CheckinRepo
from storage.models import CapacityAlarm, Venue, VenueDay, Visit
from storage.outbox import OutboundMessage
from storage.venues import VenueRepo

log = logging.getLogger(__name__)

# An alert is re-armed once presence has dropped below 80% of capacity.
REARM_PERCENT = 80
# A day-old alert no longer holds the next one back.
ALERT_MEMORY = timedelta(days=1)
# Stored times have millisecond precision; a query up to "now" must include a check-in made now.
_STORED_PRECISION = timedelta(milliseconds=1)


@dataclass(frozen=True)
class DayFigures:
    """A venue's figures for one local day up to one moment."""

    checkins: int = 0
    visitors: int = 0
    people: int = 0  # party sizes counted
    present: int = 0  # people inside at the moment, party sizes counted
    busiest_hour: int | None = None
    busiest_checkins: int = 0
    declared: int = 0  # answered yes to a health question
    declaration_answered: int = 0
    declaration_skipped: int = 0


@dataclass(frozen=True)
class TodayFigures:
    """Today so far, and yesterday up to the same local hour (presence: the same minute)."""

    venue: Venue
    at: datetime
    today: DayFigures
    yesterday: DayFigures
    compared_hour: int | None = None  # yesterday's counts are of check-ins before this local hour


def present_at(visits: Iterable[Visit], moment: datetime) -> int:
    """People inside at a moment: checked in, not checked out, not past the automatic check-out."""
    return sum(visit.party for visit in visits if visit.checkin_at <= moment < visit.ended_at)


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


def busiest(hours: Mapping[int, int]) -> tuple[int, int] | None:
    """(hour, check-ins) of the busiest local hour, the earliest on a tie; None without check-ins."""
    counted = [(count, -hour) for hour, count in hours.items() if count > 0]
    if not counted:
        return None
    count, negative_hour = max(counted)
    return -negative_hour, count


def same_time_yesterday(moment: datetime, tz: ZoneInfo) -> datetime:
    """The same local clock time one day earlier."""
    local = moment.astimezone(tz)
    return (local - timedelta(days=1)).astimezone(moment.tzinfo)


def counted_figures(day: VenueDay, present: int, *, before_hour: int | None = None) -> DayFigures:
    """A day's figures from its anonymous counters; only check-ins before `before_hour` if given."""

    def upto(by_hour: Mapping[int, int]) -> int:
        return sum(count for hour, count in by_hour.items() if before_hour is None or hour < before_hour)

    if before_hour is not None:
        # Part of a day: only what is counted by hour; health declarations are not.
        return DayFigures(
            checkins=upto(day.hours),
            visitors=upto(day.visitor_hours),
            people=upto(day.people_hours),
            present=present,
        )
    peak = busiest(day.hours)
    return DayFigures(
        checkins=day.checkins,
        visitors=day.visitors,
        people=day.people,
        present=present,
        busiest_hour=peak[0] if peak else None,
        busiest_checkins=peak[1] if peak else 0,
        declared=day.declared,
        declaration_answered=day.declaration_answered,
        declaration_skipped=day.declaration_skipped,
    )


@dataclass(frozen=True)
class VenueToday:
    """Today's figures of a venue so far, and yesterday's up to the same local hour.

    Counts come from the venue's anonymous day counters, the ones the evening summary reads, so
    both say the same and a visitor's /forget changes neither. Only presence needs the visits.
    """

    venues: VenueRepo
    checkins: CheckinRepo
    clock: Clock
    tz: ZoneInfo

    async def of_venue(self, venue: Venue) -> TodayFigures:
        """One venue's figures."""
        tz = self.tz
        now = self.clock.now()
        then = same_time_yesterday(now, tz)
        today, yesterday = local_day(now, tz).isoformat(), local_day(then, tz).isoformat()
        counted = {day.day: day for day in await self.checkins.venue_days(venue.code, yesterday, today)}
        # Visits begun up to a day before "then" can still be under way at "then".
        visits = await self.checkins.venue_visits_since(venue.code, then - MAX_VISIT_LENGTH)
        compared_hour = then.astimezone(tz).hour
        return TodayFigures(
            venue=venue,
            at=now,
            today=counted_figures(counted.get(today, VenueDay(venue.code, today)), present_at(visits, now)),
            yesterday=counted_figures(
                counted.get(yesterday, VenueDay(venue.code, yesterday)),
                present_at(visits, then),
                before_hour=compared_hour,
            ),
            compared_hour=compared_hour,
        )

    async def of_member(self, user_id: int) -> list[TodayFigures]:
        """The figures of every venue a person owns or staffs (empty when there is none)."""
        return [await self.of_venue(venue) for venue in await self.venues.for_member(user_id)]


def hour_span(hour: int) -> str:
    """10:00–11:00"""
    return f"{hour:02d}:00–{(hour + 1) % 24:02d}:00"


def render_today(figures: TodayFigures, _: Gettext, lang: str, tz: ZoneInfo) -> str:
    """The /today block for one venue."""
    venue, today, yesterday = figures.venue, figures.today, figures.yesterday
    time = figures.at.astimezone(tz).strftime("%H:%M")

    def n(value: int) -> str:
        return format_number(value, lang)

    # Yesterday's counts are by whole hours: say up to which one.
    compared = time if figures.compared_hour is None else f"{figures.compared_hour:02d}:00"
    lines = [
        _("📊 {venue} · today until {time}").format(venue=venue.name, time=time),
        _("• Check-ins: {today} (yesterday by {time}: {yesterday})").format(
            today=n(today.checkins), time=compared, yesterday=n(yesterday.checkins)
        ),
        _("• Unique visitors: {today} (yesterday: {yesterday})").format(
            today=n(today.visitors), yesterday=n(yesterday.visitors)
        ),
        _("• People, party sizes counted: {today} (yesterday: {yesterday})").format(
            today=n(today.people), yesterday=n(yesterday.people)
        ),
        _("• Present now: {today} (yesterday at {time}: {yesterday})").format(
            today=n(today.present), time=time, yesterday=n(yesterday.present)
        ),
    ]
    if venue.capacity:
        lines.append(_("• Capacity: {capacity} people").format(capacity=n(venue.capacity)))
    if today.busiest_hour is not None:
        lines.append(
            _("• Busiest hour: {hours} ({n} check-ins)").format(
                hours=hour_span(today.busiest_hour), n=n(today.busiest_checkins)
            )
        )
    else:
        lines.append(_("• No check-ins yet today."))
    if venue.settings.health_declaration or today.declaration_answered or today.declaration_skipped:
        lines.append(
            _(
                "• Health declarations: {declared} declared symptoms or exposure, "
                "{answered} answered, {skipped} skipped"
            ).format(
                declared=n(today.declared),
                answered=n(today.declaration_answered),
                skipped=n(today.declaration_skipped),
            )
        )
    return "\n".join(lines)


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


async def recipient_languages(services: Services, user_ids: Iterable[int]) -> dict[int, str]:
    """Each person's language for proactive messages."""
    ids = list(dict.fromkeys(user_ids))
    profiles = await services.repos.users.get_many(ids)
    return {
        user_id: pick_language(
            profiles[user_id].language if user_id in profiles else None,
            profiles[user_id].telegram_language if user_id in profiles else None,
        )
        for user_id in ids
    }


def capacity_alert_text(_: Gettext, lang: str, venue: Venue, present: int, capacity: int) -> str:
    return "\n".join(
        [
            _("⚠️ {venue} is full: {present} people inside now, capacity {capacity}.").format(
                venue=venue.name, present=format_number(present, lang), capacity=format_number(capacity, lang)
            ),
            _(
                "Please ask people to wait outside until others leave. The next alert comes only after "
                "fewer than {level} people are inside and it fills up again."
            ).format(level=format_number(rearm_level(capacity), lang)),
        ]
    )


async def check_capacity(services: Services, venue: Venue, visit: Visit) -> None:
    """Check-in hook: queue one alert to the owner and staff when the venue fills up."""
    capacity = venue.capacity
    if not capacity:
        return
    now = services.now()
    alarm = venue.capacity_alarm
    since = alarm.last_alert_at if alarm and alarm.last_alert_at > now - ALERT_MEMORY else now
    visits = await services.repos.checkins.overlapping(venue.code, since, now + _STORED_PRECISION)
    if not alert_due(visits, capacity, alarm, now):
        return
    day = local_day(now, services.settings.tz).isoformat()
    noted = await services.repos.venues.record_capacity_alert(venue.code, previous=alarm, at=now, day=day)
    if noted is None:  # another check-in raised this alert a moment ago
        return
    present = present_at(visits, now)
    recipients = [venue.owner_id, *venue.staff_ids] if venue.owner_id is not None else list(venue.staff_ids)
    languages = await recipient_languages(services, recipients)
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
    queued = await services.repos.outbox.enqueue_many(messages, now)
    log.info("venue %s reached capacity: %d alerts queued", venue.code, queued)
