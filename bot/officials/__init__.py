"""The officials' side: access by region, reports, inactive venues, tracing, exposure alerts, audit.

Each concept has its module; `OfficialUseCases` is what the composition root builds once and every
front end (chat, CLI, web pages) calls.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.officials.access import Access, BadInput, OfficialAccess, Refused, region_label
from bot.officials.audit import CLI_ACTOR, Actor, AuditLog, audit_line, audit_text
from bot.officials.exports import build_csv, csv_cell, fit_document, inactive_csv, phone_cell, trace_csv
from bot.officials.exposure import ExposureAlerts, ExposurePlan, ExposureSent
from bot.officials.inactive import INACTIVE_DEFAULT_DAYS, INACTIVE_MAX_DAYS, Inactive, InactiveVenues
from bot.officials.membership import Roster
from bot.officials.reporting import MorningReports, RegionReports, Subscriptions
from bot.officials.tracing import Trace, Tracing
from bot.officials.windows import (
    DEFAULT_INVITE_TTL,
    Window,
    parse_duration,
    parse_venue_window,
    parse_window,
)
from bot.regions import RegionCatalogue
from storage.database import Repos


@dataclass(frozen=True)
class OfficialUseCases:
    """Everything officials and admins do, built once by the composition root."""

    access: OfficialAccess
    audit: AuditLog
    roster: Roster
    reports: RegionReports
    subscriptions: Subscriptions
    morning_reports: MorningReports
    inactive: InactiveVenues
    tracing: Tracing
    exposure: ExposureAlerts


def build_official_use_cases(
    repos: Repos,
    clock: Clock,
    regions: RegionCatalogue,
    *,
    admins: Collection[int],
    tz: ZoneInfo,
    retention: timedelta,
) -> OfficialUseCases:
    """Wire each use case to the repositories it uses."""
    access = OfficialAccess(admins, repos.officials, repos.venues, regions)
    audit = AuditLog(repos.audit, clock, tz)
    return OfficialUseCases(
        access=access,
        audit=audit,
        roster=Roster(repos.officials, repos.subscriptions, audit),
        reports=RegionReports(access, repos.stats, clock, tz),
        subscriptions=Subscriptions(access, repos.subscriptions, clock),
        morning_reports=MorningReports(
            subscriptions=repos.subscriptions,
            officials=repos.officials,
            users=repos.users,
            stats=repos.stats,
            outbox=repos.outbox,
            regions=regions,
            admins=admins,
            clock=clock,
        ),
        inactive=InactiveVenues(access, repos.venues, repos.users, clock, tz),
        tracing=Tracing(access, repos.checkins, repos.users, audit),
        exposure=ExposureAlerts(
            access=access,
            checkins=repos.checkins,
            exposures=repos.exposures,
            users=repos.users,
            outbox=repos.outbox,
            audit=audit,
            clock=clock,
            tz=tz,
            retention=retention,
        ),
    )


__all__ = [
    "CLI_ACTOR",
    "DEFAULT_INVITE_TTL",
    "INACTIVE_DEFAULT_DAYS",
    "INACTIVE_MAX_DAYS",
    "Access",
    "Actor",
    "AuditLog",
    "BadInput",
    "ExposureAlerts",
    "ExposurePlan",
    "ExposureSent",
    "Inactive",
    "InactiveVenues",
    "MorningReports",
    "OfficialAccess",
    "OfficialUseCases",
    "Refused",
    "RegionReports",
    "Roster",
    "Subscriptions",
    "Trace",
    "Tracing",
    "Window",
    "audit_line",
    "audit_text",
    "build_csv",
    "build_official_use_cases",
    "csv_cell",
    "fit_document",
    "inactive_csv",
    "parse_duration",
    "parse_venue_window",
    "parse_window",
    "phone_cell",
    "region_label",
    "trace_csv",
]
