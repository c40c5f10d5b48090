"""Today at a venue: check-ins so far and people present now."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.clock import Clock, local_day
from bot.i18n import Gettext, format_number
from storage.checkins import MAX_VISIT_LENGTH, CheckinRepo
from storage.models import Venue, VenueDay, Visit
from storage.venues import VenueRepo


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
            _.ngettext(
                "• Busiest hour: {hours} ({n} check-in)",
                "• Busiest hour: {hours} ({n} check-ins)",
                today.busiest_checkins,
            ).format(hours=hour_span(today.busiest_hour), n=n(today.busiest_checkins))
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
