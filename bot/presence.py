"""Today at a venue: check-ins so far and people present now."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.clock import day_bounds, local_day
from bot.i18n import Gettext, format_number, languages_of
from bot.services import Services
from storage.checkins import MAX_VISIT_LENGTH
from storage.models import Venue, Visit


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
    """Today so far, and yesterday up to the same local time."""

    venue: Venue
    at: datetime
    today: DayFigures
    yesterday: DayFigures


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


def figures_until(visits: Sequence[Visit], start: datetime, moment: datetime, tz: ZoneInfo) -> DayFigures:
    """Figures of the visits that began in [start, moment], and presence at `moment`."""
    day = [visit for visit in visits if start <= visit.checkin_at <= moment]
    hours = Counter(visit.checkin_at.astimezone(tz).hour for visit in day)
    peak = busiest(hours)
    return DayFigures(
        checkins=len(day),
        visitors=len({visit.user_id for visit in day}),
        people=sum(visit.party for visit in day),
        present=present_at(visits, moment),
        busiest_hour=peak[0] if peak else None,
        busiest_checkins=peak[1] if peak else 0,
        declared=sum(1 for visit in day if visit.health is not None and visit.health.any_yes),
        declaration_answered=sum(1 for visit in day if visit.health is not None),
        declaration_skipped=sum(1 for visit in day if visit.health_skipped),
    )


def same_time_yesterday(moment: datetime, tz: ZoneInfo) -> datetime:
    """The same local clock time one day earlier."""
    local = moment.astimezone(tz)
    return (local - timedelta(days=1)).astimezone(moment.tzinfo)


async def venue_today(services: Services, venue: Venue) -> TodayFigures:
    """Today's figures so far and yesterday's at the same time, from the stored visits."""
    tz = services.settings.tz
    now = services.now()
    today_start, _ = day_bounds(local_day(now, tz), tz)
    then = same_time_yesterday(now, tz)
    yesterday_start, _ = day_bounds(local_day(then, tz), tz)
    # Visits begun up to a day before "then" can still be under way at "then".
    visits = await services.repos.checkins.venue_visits_since(venue.code, then - MAX_VISIT_LENGTH)
    return TodayFigures(
        venue=venue,
        at=now,
        today=figures_until(visits, today_start, now, tz),
        yesterday=figures_until(visits, yesterday_start, then, tz),
    )


def hour_span(hour: int) -> str:
    """10:00–11:00"""
    return f"{hour:02d}:00–{(hour + 1) % 24:02d}:00"


def render_today(figures: TodayFigures, _: Gettext, lang: str, tz: ZoneInfo) -> str:
    """The /today block for one venue."""
    venue, today, yesterday = figures.venue, figures.today, figures.yesterday
    time = figures.at.astimezone(tz).strftime("%H:%M")

    def n(value: int) -> str:
        return format_number(value, lang)

    lines = [
        _("📊 {venue} · today until {time}").format(venue=venue.name, time=time),
        _("• Check-ins: {today} (yesterday by {time}: {yesterday})").format(
            today=n(today.checkins), time=time, yesterday=n(yesterday.checkins)
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


async def recipient_languages(services: Services, user_ids: Iterable[int]) -> dict[int, str]:
    """Each person's language for proactive messages."""
    return await languages_of(services.repos.users, user_ids)
