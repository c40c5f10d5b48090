"""Venues: categories and input rules, and the use cases of an owner's venues.

`Venues` registers a venue, lists a member's venues, changes its settings and deactivates or
reactivates it. Chat handlers and the CLI call the same methods; each one validates what it is
given (raising `InvalidInput` with a catalog msgid) and returns the stored venue.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from zoneinfo import ZoneInfo

from bot.clock import Clock, local_day
from bot.i18n import N_
from bot.numbers import NotANumber, OutOfRange, parse_whole
from bot.payload import new_venue_code
from bot.poster import PosterCard
from bot.regions import MAX_SUGGESTIONS, Region, RegionCatalogue, UnknownRegion
from bot.text import plain_text
from storage.models import NewVenue, Venue
from storage.venues import VenueRepo

MAX_TEXT = 120
MAX_CAPACITY = 100_000
MIN_AUTO_CHECKOUT, MAX_AUTO_CHECKOUT = 15, 1440
HOURS_OF_DAY = range(24)

# What may follow a typed capacity ("30 người"): minutes take none, so "45 min" is not misread.
PEOPLE_UNITS = ("người", "nguoi", "people", "persons", "person")

CATEGORIES: dict[str, str] = {
    "shop": N_("Shop"),
    "food": N_("Food and drink"),
    "clinic": N_("Clinic / pharmacy"),
    "office": N_("Office"),
    "school": N_("School"),
    "market": N_("Market"),
    "worship": N_("Place of worship"),
    "transport": N_("Transport"),
    "other": N_("Other"),
}


class InvalidInput(ValueError):
    """User input that cannot be accepted; the message is an English msgid for the catalog."""


def clean_text(raw: str, *, max_length: int = MAX_TEXT) -> str:
    """Typed text as `plain_text` keeps it; InvalidInput when nothing is left or it is too long."""
    text = plain_text(raw)
    if not text:
        raise InvalidInput(N_("Please type something."))
    if len(text) > max_length:
        raise InvalidInput(N_("That is too long: at most 120 characters, please."))
    return text


def parse_capacity(raw: str | int | None) -> int | None:
    """A capacity: a whole number of people from 1 to 100000 ("40", "40 người"), or None when empty."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, int):
        return checked_capacity(raw)
    try:
        return parse_whole(raw, low=1, high=MAX_CAPACITY, units=PEOPLE_UNITS)
    except NotANumber:
        raise InvalidInput(N_("Please send a whole number of people, for example 40.")) from None
    except OutOfRange:
        raise InvalidInput(N_("Capacity must be between 1 and 100000 people.")) from None


def checked_capacity(value: int) -> int:
    if not 1 <= value <= MAX_CAPACITY:
        raise InvalidInput(N_("Capacity must be between 1 and 100000 people."))
    return value


def parse_auto_checkout(raw: str) -> int:
    """Typed minutes for automatic check-out: a whole number from 15 to 1440; InvalidInput says why not."""
    try:
        return parse_whole(raw, low=MIN_AUTO_CHECKOUT, high=MAX_AUTO_CHECKOUT)
    except NotANumber as exc:
        if exc.decimal:
            raise InvalidInput(N_("Please send whole minutes, without decimals, for example 45.")) from None
        raise InvalidInput(N_("Please send a number of minutes, for example 45.")) from None
    except OutOfRange:
        raise InvalidInput(
            N_("Automatic check-out must be between 15 and 1440 minutes (24 hours).")
        ) from None


def checked_auto_checkout(minutes: int) -> int:
    if not MIN_AUTO_CHECKOUT <= minutes <= MAX_AUTO_CHECKOUT:
        raise InvalidInput(N_("Automatic check-out must be between 15 and 1440 minutes (24 hours)."))
    return minutes


def parse_category(raw: str | None) -> str:
    key = (raw or "other").strip().lower()
    if key not in CATEGORIES:
        raise InvalidInput(N_("Unknown category."))
    return key


@dataclass(frozen=True)
class VenueRequest:
    """A validated request to register a venue."""

    name: str
    address: str
    region: Region
    category: str = "other"
    capacity: int | None = None
    owner_id: int | None = None


def venue_request(
    *,
    name: str,
    address: str,
    region: Region,
    category: str | None = None,
    capacity: str | int | None = None,
    owner_id: int | None = None,
) -> VenueRequest:
    """Validate every field of a registration; raise InvalidInput on the first bad one."""
    return VenueRequest(
        name=clean_text(name),
        address=clean_text(address),
        region=region,
        category=parse_category(category),
        capacity=parse_capacity(capacity),
        owner_id=owner_id,
    )


def ward_named(regions: RegionCatalogue, province: Region, text: str) -> Region:
    """The ward of a province a typed name means; UnknownRegion with the candidates otherwise.

    A part of a name is taken only when it belongs to one ward: "nghia" is part of Nghĩa Đô,
    Phú Nghĩa and Yên Nghĩa, so it names none of them.
    """
    try:
        return regions.match_ward(province.id, text, guess=False)
    except UnknownRegion as exc:
        if exc.ambiguous:
            raise
        partial = regions.search_wards(province.id, text, limit=MAX_SUGGESTIONS + 1)
        if len(partial) == 1:
            return partial[0]
        if partial:
            raise UnknownRegion(text, partial[:MAX_SUGGESTIONS], ambiguous=True) from None
        raise


def region_label(regions: RegionCatalogue, venue: Venue) -> str:
    """The venue's ward and province, or its region id when the catalogue no longer knows it."""
    try:
        return regions.label(venue.region_id)
    except UnknownRegion:
        return venue.region_id


def poster_card(venue: Venue, regions: RegionCatalogue, link: str) -> PosterCard:
    """What the venue's poster shows; `link` is its check-in deep link."""
    return PosterCard(
        name=venue.name,
        address=venue.address,
        code=venue.code,
        link=link,
        region=region_label(regions, venue),
    )


@dataclass(frozen=True)
class Venues:
    """An owner's venues: register, find, change settings, deactivate and reactivate."""

    repo: VenueRepo
    clock: Clock
    tz: ZoneInfo

    def today(self) -> date:
        return local_day(self.clock.now(), self.tz)

    async def register(self, request: VenueRequest) -> Venue:
        """Create the venue and count it in its regions."""
        new = NewVenue(
            name=request.name,
            address=request.address,
            category=request.category,
            regions=request.region.path,
            capacity=request.capacity,
            owner_id=request.owner_id,
        )
        return await self.repo.create(
            new, now=self.clock.now(), day=self.today().isoformat(), new_code=new_venue_code
        )

    async def get(self, code: str) -> Venue | None:
        return await self.repo.get(code)

    async def of_member(self, user_id: int) -> list[Venue]:
        """The venues a person owns or staffs, oldest first."""
        return await self.repo.for_member(user_id)

    async def in_region(self, region_id: str | None = None) -> list[Venue]:
        """Every venue of a region (of the country without one), in code order."""
        return await self.repo.find(region=region_id)

    async def set_summary_hour(self, venue: Venue, hour: int) -> Venue:
        """The local hour at which the daily summary arrives (0 to 23)."""
        if hour not in HOURS_OF_DAY:
            raise InvalidInput(N_("The summary hour must be from 0 to 23."))
        return await self.repo.update_settings(venue.code, replace(venue.settings, summary_hour=hour))

    async def set_auto_checkout(self, venue: Venue, minutes: int) -> Venue:
        """After how many minutes a visit without check-out ends by itself (15 to 1440)."""
        minutes = checked_auto_checkout(minutes)
        return await self.repo.update_settings(
            venue.code, replace(venue.settings, auto_checkout_minutes=minutes)
        )

    async def set_health_declaration(self, venue: Venue, on: bool) -> Venue:
        """Whether visitors are asked the health questions after check-in."""
        return await self.repo.update_settings(venue.code, replace(venue.settings, health_declaration=on))

    async def set_summaries_muted(self, venue: Venue, muted: bool) -> Venue:
        return await self.repo.update_settings(venue.code, replace(venue.settings, summaries_muted=muted))

    async def set_capacity(self, venue: Venue, capacity: int | None) -> Venue:
        """How many people fit at once (1 to 100000); None for no limit and no full-house alert."""
        if capacity is not None:
            capacity = checked_capacity(capacity)
        return await self.repo.update_fields(venue.code, capacity=capacity)

    async def set_active(self, venue: Venue, active: bool) -> Venue:
        """Deactivate (scans refused, nothing deleted) or reactivate; counted in the region's day."""
        return await self.repo.set_active(venue.code, active, day=self.today().isoformat())
