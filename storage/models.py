"""Typed records returned by the repositories; no driver types leave `storage/`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class VenueSettings:
    """What an owner can change about a venue."""

    summary_hour: int = 21
    auto_checkout_minutes: int = 120
    health_declaration: bool = False
    summaries_muted: bool = False


@dataclass(frozen=True)
class CapacityAlarm:
    """The last capacity alert of a venue: when, and how many that local day."""

    last_alert_at: datetime
    day: str
    count: int


@dataclass(frozen=True)
class NewVenue:
    """What it takes to register a venue."""

    name: str
    address: str
    category: str
    regions: tuple[str, ...]  # region ids from the country down, e.g. ("vn", "vn/1", "vn/1/4")
    capacity: int | None = None
    owner_id: int | None = None


@dataclass(frozen=True)
class Venue:
    """A place with a poster."""

    code: str
    name: str
    address: str
    category: str
    regions: tuple[str, ...]
    capacity: int | None
    owner_id: int | None
    staff_ids: tuple[int, ...]
    active: bool
    created_at: datetime
    created_day: str
    settings: VenueSettings = field(default_factory=VenueSettings)
    last_checkin_day: str | None = None
    capacity_alarm: CapacityAlarm | None = None

    @property
    def region_id(self) -> str:
        """The most specific region of the venue."""
        return self.regions[-1]

    def can_view(self, user_id: int) -> bool:
        """Owner and staff may see the venue's figures and posters."""
        return user_id == self.owner_id or user_id in self.staff_ids

    def can_manage(self, user_id: int) -> bool:
        """Only the owner changes settings and staff."""
        return user_id == self.owner_id


@dataclass(frozen=True)
class HealthAnswers:
    """A health declaration: None means the question was not answered."""

    symptoms: bool | None = None
    contact: bool | None = None
    travel: bool | None = None

    @property
    def any_yes(self) -> bool:
        return bool(self.symptoms or self.contact or self.travel)

    @property
    def complete(self) -> bool:
        return None not in (self.symptoms, self.contact, self.travel)


@dataclass(frozen=True)
class Visit:
    """One person's (and their party's) check-in at a venue."""

    id: str
    venue_code: str
    venue_name: str
    user_id: int
    day: str
    checkin_at: datetime
    auto_checkout_at: datetime
    checkout_at: datetime | None = None
    party: int = 1
    health: HealthAnswers | None = None
    health_skipped: bool = False
    auto_checked_out: bool = False  # closed by the automatic check-out, not by the person

    @property
    def ended_at(self) -> datetime:
        """When the visit ended or will end by itself."""
        return self.checkout_at or self.auto_checkout_at

    def is_open(self, now: datetime) -> bool:
        """Checked in, not checked out, and not past the automatic check-out."""
        return self.checkout_at is None and self.auto_checkout_at > now


@dataclass(frozen=True)
class UserProfile:
    """A Telegram user as QuetMa knows them."""

    user_id: int
    language: str | None
    telegram_language: str | None
    display_name: str
    phone: str | None
    created_at: datetime
    unreachable: bool = False
    expires_at: datetime | None = None  # pushed forward at every contact; None for old records


@dataclass(frozen=True)
class VenueDay:
    """A venue's anonymous counters for one local day."""

    venue_code: str
    day: str
    checkins: int = 0
    visitors: int = 0
    people: int = 0
    hours: dict[int, int] = field(default_factory=dict)  # check-ins by local hour
    declared: int = 0
    declaration_answered: int = 0
    declaration_skipped: int = 0
    visitor_hours: dict[int, int] = field(default_factory=dict)  # new visitors by local hour
    people_hours: dict[int, int] = field(default_factory=dict)  # people by the hour of their check-in


@dataclass(frozen=True)
class RegionDay:
    """A region's anonymous counters for one local day."""

    region: str
    day: str
    checkins: int = 0
    visitors: int = 0
    venues_with_checkins: int = 0
    venues_new: int = 0
    venues_closed: int = 0
    venues_reopened: int = 0
    active3: int = 0
