"""The composition root: every dependency and use case, built once per process and frozen.

Front ends (chat handlers, CLI commands, scheduled jobs, web views) receive the one `Container`
and call the use cases on it; nothing mutates it after `build_container` returns.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from bot.app.jobs import JobTable
from bot.app.settings import Settings
from bot.capacity import CapacityAlert
from bot.checkins import CheckinEffect, Checkins
from bot.clock import Clock, SystemClock
from bot.inactivity import inactive_counts
from bot.invites import CreateInvite, JoinAsOfficial, JoinAsStaff
from bot.officials import OfficialUseCases, build_official_use_cases
from bot.payload import Signer
from bot.presence import VenueToday
from bot.privacy import Privacy
from bot.profiles import Profiles
from bot.regions import RegionCatalogue, load_catalogue
from bot.signins import Signins
from bot.staff import StaffNotices, VenueStaff
from bot.summaries import OwnerSummaries
from bot.venues import Venues
from storage.database import Repos


@dataclass(frozen=True)
class Container:
    """Settings, clock, catalogues and the use cases every front end calls."""

    settings: Settings
    clock: Clock
    regions: RegionCatalogue
    signer: Signer
    repos: Repos
    profiles: Profiles
    owner_summaries: OwnerSummaries
    jobs: JobTable  # what the scheduled jobs call
    venues: Venues
    venue_today: VenueToday
    checkins: Checkins
    privacy: Privacy
    create_invite: CreateInvite
    join_as_staff: JoinAsStaff
    join_as_official: JoinAsOfficial
    venue_staff: VenueStaff
    officials: OfficialUseCases
    signins: Signins


async def signing_key(settings: Settings, repos: Repos) -> bytes:
    """QUETMA_SECRET, else a key generated once and kept in the database."""
    if settings.secret is not None:
        return settings.secret.get_secret_value().encode()
    stored = await repos.meta.get_or_create("signing_secret", lambda: secrets.token_urlsafe(32))
    return stored.encode()


async def build_container(
    settings: Settings,
    repos: Repos,
    *,
    clock: Clock | None = None,
    checkin_effects: Sequence[CheckinEffect] = (),
) -> Container:
    """Build everything once; `checkin_effects` run after the capacity alert (metrics)."""
    clock = clock or SystemClock()
    regions = load_catalogue()
    signer = Signer(await signing_key(settings, repos))
    retention = timedelta(days=settings.retention_days)
    profiles = Profiles(repos.users, clock, retention)
    owner_summaries = OwnerSummaries(
        venues=repos.venues,
        checkins=repos.checkins,
        users=repos.users,
        outbox=repos.outbox,
        clock=clock,
        tz=settings.tz,
    )
    venues = Venues(repos.venues, clock, settings.tz)
    venue_today = VenueToday(repos.venues, repos.checkins, clock, settings.tz)
    capacity_alert = CapacityAlert(
        venues=repos.venues, visits=repos.checkins, users=repos.users, outbox=repos.outbox, tz=settings.tz
    )
    checkins = Checkins(
        venues=repos.venues, visits=repos.checkins, clock=clock, effects=(capacity_alert, *checkin_effects)
    )
    privacy = Privacy(
        visits=repos.checkins,
        users=repos.users,
        outbox=repos.outbox,
        venues=repos.venues,
        invites=repos.invites,
        clock=clock,
    )
    notices = StaffNotices(repos.users, repos.outbox, clock)
    create_invite = CreateInvite(repos.invites, repos.audit, clock)
    join_as_staff = JoinAsStaff(repos.invites, repos.venues, notices, clock)
    join_as_official = JoinAsOfficial(repos.invites, repos.officials, repos.audit, clock)
    venue_staff = VenueStaff(repos.venues, repos.users, repos.invites, notices, clock)
    officials = build_official_use_cases(
        repos,
        clock,
        regions,
        admins=settings.admins,
        tz=settings.tz,
        retention=timedelta(days=settings.retention_days),
    )
    jobs = JobTable(
        owner_summaries=owner_summaries.queue,
        official_reports=officials.morning_reports.queue,
        inactive_counts=partial(inactive_counts, repos.stats, regions),
        auto_checkout=repos.checkins.auto_check_out,
        official_reports_at=settings.official_summary_at,
    )
    signins = Signins(repos.signins, clock)
    return Container(
        settings=settings,
        clock=clock,
        regions=regions,
        signer=signer,
        repos=repos,
        profiles=profiles,
        owner_summaries=owner_summaries,
        jobs=jobs,
        venues=venues,
        venue_today=venue_today,
        checkins=checkins,
        privacy=privacy,
        create_invite=create_invite,
        join_as_staff=join_as_staff,
        join_as_official=join_as_official,
        venue_staff=venue_staff,
        officials=officials,
        signins=signins,
    )
