"""The composition root: every dependency and use case, built once per process and frozen.

Front ends (chat handlers, CLI commands, scheduled jobs, web views) receive the one `Container`
and call the use cases on it; nothing mutates it after `build_container` returns.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from bot.app.settings import Settings
from bot.clock import Clock, SystemClock
from bot.payload import Signer
from bot.presence import check_capacity
from bot.profiles import Profiles
from bot.regions import RegionCatalogue, load_catalogue
from bot.services import CheckinHook, Services
from bot.signins import Signins
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
    profiles: Profiles
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
    checkin_effects: Sequence[CheckinHook] = (),
) -> Container:
    """Build everything once; `checkin_effects` are extra effects of a check-in (metrics)."""
    clock = clock or SystemClock()
    regions = load_catalogue()
    signer = Signer(await signing_key(settings, repos))
    services = Services(
        settings=settings,
        repos=repos,
        clock=clock,
        regions=regions,
        signer=signer,
        checkin_hooks=(check_capacity, *checkin_effects),
    )
    retention = timedelta(days=settings.retention_days)
    profiles = Profiles(repos.users, clock, retention)
    signins = Signins(repos.signins, clock)
    return Container(
        settings=settings,
        clock=clock,
        regions=regions,
        signer=signer,
        repos=repos,
        services=services,
        profiles=profiles,
        signins=signins,
    )
