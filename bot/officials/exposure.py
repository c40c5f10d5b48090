"""Exposure alerts: who was at a venue while a confirmed case was there, previewed, then alerted once.

The preview (`plan_exposure`) and the sending (`send_exposure_alerts`) check the same rules: the
window is re-checked on sending, because a confirmation may arrive long after the preview.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.i18n import N_, Gettext, gettext_for, pick_language
from bot.officials.access import Access, OfficialAccess
from bot.officials.audit import Actor, AuditLog
from bot.officials.windows import Window, check_window
from storage.checkins import CheckinRepo
from storage.models import UserProfile, Venue, Visit
from storage.officials import ExposureRepo
from storage.outbox import OutboundMessage, OutboxRepo
from storage.users import UserRepo

EXPOSURE_ALERT = N_(
    "⚠️ Exposure alert\n"
    "A confirmed case was at {venue} ({address}) between {start} and {end}.\n"
    "You checked in there: {visits}.\n\n"
    "Please watch your health for 14 days. If you get a fever, a cough or difficulty breathing, stay at home, "
    "wear a mask and call your local health station or the Ministry of Health hotline 1900 9095. "
    "Meanwhile avoid crowded places and close contact with elderly or ill people."
)


@dataclass(frozen=True)
class ExposurePlan:
    """Who would be alerted about a window at a venue, and who already was."""

    venue: Venue
    window: Window
    to_alert: dict[int, list[Visit]]
    profiles: dict[int, UserProfile]
    already_alerted: int

    @property
    def people(self) -> int:
        return len(self.to_alert)


@dataclass(frozen=True)
class ExposureSent:
    """The outcome of a confirmed exposure alert."""

    venue: Venue
    window: Window
    queued: int


def exposure_text(_: Gettext, venue: Venue, window: Window, visits: Sequence[Visit], tz: ZoneInfo) -> str:
    """The alert one person gets: the venue, the window, their own visit times, advice."""
    times = "; ".join(
        f"{visit.checkin_at.astimezone(tz):%d/%m/%Y %H:%M}–{visit.ended_at.astimezone(tz):%H:%M}"
        for visit in visits
    )
    return _(EXPOSURE_ALERT).format(
        venue=venue.name,
        address=venue.address,
        start=f"{window.start.astimezone(tz):%H:%M %d/%m/%Y}",
        end=f"{window.end.astimezone(tz):%H:%M %d/%m/%Y}",
        visits=times,
    )


def exposure_key(venue_code: str, user_id: int, first_visit_id: str) -> str:
    return f"exposure:{venue_code}:{user_id}:{first_visit_id}"


@dataclass(frozen=True)
class ExposureAlerts:
    """Previews and sends exposure alerts for a venue and a window within the official's area."""

    access: OfficialAccess
    checkins: CheckinRepo
    exposures: ExposureRepo
    users: UserRepo
    outbox: OutboxRepo
    audit: AuditLog
    clock: Clock
    tz: ZoneInfo
    retention: timedelta

    async def plan_exposure(self, access: Access, code: str, window: Window) -> ExposurePlan:
        """The people whose visits overlap the window and have not been alerted about those visits yet.

        Only people with a profile can be messaged: citizens who used /forget have neither visits nor
        a profile.
        """
        check_window(window, now=self.clock.now())
        venue = await self.access.require_venue(access, code)
        visits = await self.checkins.overlapping(venue.code, window.start, window.end)
        alerted = await self.exposures.alerted(visit.id for visit in visits)
        by_person: dict[int, list[Visit]] = {}
        done: set[int] = set()
        for visit in visits:
            if visit.id in alerted:
                done.add(visit.user_id)
            else:
                by_person.setdefault(visit.user_id, []).append(visit)
        profiles = await self.users.get_many(sorted(by_person))
        to_alert = {user: found for user, found in by_person.items() if user in profiles}
        return ExposurePlan(
            venue=venue,
            window=window,
            to_alert=to_alert,
            profiles=profiles,
            already_alerted=len(done - set(to_alert)),
        )

    async def send_exposure_alerts(
        self, access: Access, actor: Actor, code: str, window: Window
    ) -> ExposureSent:
        """Check every rule again, then queue one alert per person (in their language); audited.

        Keys name the person's first not-yet-alerted visit and the visits are marked afterwards, so
        running the same exposure again, or confirming it twice at once, notifies nobody twice.
        """
        plan = await self.plan_exposure(access, code, window)
        messages = []
        for user_id, visits in plan.to_alert.items():
            profile = plan.profiles[user_id]
            lang = pick_language(profile.language, profile.telegram_language)
            messages.append(
                OutboundMessage(
                    key=exposure_key(plan.venue.code, user_id, visits[0].id),
                    kind="exposure",
                    chat_id=user_id,
                    text=exposure_text(gettext_for(lang), plan.venue, plan.window, visits, self.tz),
                    meta={"venue": plan.venue.code, "visits": [visit.id for visit in visits]},
                )
            )
        now = self.clock.now()
        queued = await self.outbox.enqueue_many(messages, now)
        entry = await self.audit.record(
            actor,
            "exposure",
            region=plan.venue.region_id,
            venue_code=plan.venue.code,
            window=plan.window,
            rows=queued,
            detail=f"already alerted: {plan.already_alerted + len(messages) - queued}",
        )
        visit_ids = [visit.id for visits in plan.to_alert.values() for visit in visits]
        await self.exposures.mark(
            plan.venue.code, visit_ids, audit_id=entry.id, now=now, expires_at=now + self.retention
        )
        return ExposureSent(plan.venue, plan.window, queued)
