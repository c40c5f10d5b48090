"""Venue domain rules: categories, input validation, registration."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from bot.i18n import N_
from bot.payload import new_venue_code
from bot.regions import Region
from bot.services import Services
from storage.models import NewVenue, Venue

MAX_TEXT = 120
MAX_CAPACITY = 100_000

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
    """Trimmed text without control characters; InvalidInput when empty, too long or with controls."""
    text = unicodedata.normalize("NFC", raw).strip()
    if not text:
        raise InvalidInput(N_("Please type something."))
    if any(unicodedata.category(ch) in {"Cc", "Cf"} and ch not in "\u200d" for ch in text):
        raise InvalidInput(N_("Please use plain text without control characters."))
    if len(text) > max_length:
        raise InvalidInput(N_("That is too long: at most 120 characters, please."))
    return " ".join(text.split())


def parse_capacity(raw: str | int | None) -> int | None:
    """A capacity: a whole number from 1 to 100000, or None."""
    if raw is None or raw == "":
        return None
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise InvalidInput(N_("Please send a whole number of people, for example 40.")) from None
    if not 1 <= value <= MAX_CAPACITY:
        raise InvalidInput(N_("Capacity must be between 1 and 100000 people."))
    return value


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


async def register_venue(services: Services, request: VenueRequest) -> Venue:
    """Create the venue and count it in its regions."""
    new = NewVenue(
        name=request.name,
        address=request.address,
        category=request.category,
        regions=request.region.path,
        capacity=request.capacity,
        owner_id=request.owner_id,
    )
    return await services.repos.venues.create(
        new, now=services.now(), day=services.today().isoformat(), new_code=new_venue_code
    )
