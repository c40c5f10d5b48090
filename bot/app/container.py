"""The composition root: every dependency and use case, built once per process and frozen.

Front ends (chat handlers, CLI commands, scheduled jobs, web views) receive the one `Container`
and call the use cases on it; nothing mutates it after `build_container` returns.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from bot.app.settings import Settings
from bot.capacity import CapacityAlert
from bot.checkins import CheckinEffect, Checkins
from bot.clock import Clock, SystemClock
from bot.payload import Signer
from bot.privacy import Privacy
from bot.regions import RegionCatalogue, load_catalogue
from bot.services import Services
from storage.database import Repos


@dataclass(frozen=True)
class Container:
    """Settings, clock, catalogues and the use cases every front end calls."""

    settings: Settings
    clock: Clock
    regions: RegionCatalogue
    signer: Signer
    repos: Repos
    services: Services  # transitional: code not yet moved to a use case
    checkins: Checkins
    privacy: Privacy


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
    services = Services(
        settings=settings,
        repos=repos,
        clock=clock,
        regions=regions,
        signer=signer,
    )
    capacity_alert = CapacityAlert(
        venues=repos.venues, visits=repos.checkins, users=repos.users, outbox=repos.outbox, tz=settings.tz
    )
    checkins = Checkins(
        venues=repos.venues, visits=repos.checkins, clock=clock, effects=(capacity_alert, *checkin_effects)
    )
    privacy = Privacy(visits=repos.checkins, users=repos.users, outbox=repos.outbox, clock=clock)
    return Container(
        settings=settings,
        clock=clock,
        regions=regions,
        signer=signer,
        repos=repos,
        services=services,
        checkins=checkins,
        privacy=privacy,
    )
