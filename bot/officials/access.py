"""Who may see what: admins the whole country, officials their region; refusals carry their own msgid."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from bot.i18n import N_, Gettext
from bot.regions import Region, RegionCatalogue, UnknownRegion
from storage.models import Venue
from storage.officials import OfficialRepo
from storage.venues import VenueRepo

NOT_OFFICIAL = N_(
    "This command is for public-health officials. If you are one, ask an administrator for an invite link."
)
NOT_ADMIN = N_("Only administrators can do this.")
OUTSIDE_REGION = N_("{place} is outside your area ({scope}). You can only see and act within {scope}.")
UNKNOWN_VENUE = N_("There is no venue with the code {code}.")


class Refused(Exception):
    """An action the person may not take; `message` is an English msgid with `fields` to fill in."""

    def __init__(self, message: str, **fields: str) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields

    def text(self, _: Gettext) -> str:
        return _(self.message).format(**self.fields)


class BadInput(Refused):
    """Input that cannot be understood (same shape as Refused: a msgid and its fields)."""


@dataclass(frozen=True)
class Access:
    """What a person may see: admins the whole country, officials their region."""

    user_id: int
    scope: str
    admin: bool


def region_label(regions: RegionCatalogue, region_id: str) -> str:
    """A region's full name for people (its id when the catalogue no longer knows it)."""
    return regions.label(region_id) if regions.get(region_id) else region_id


@dataclass(frozen=True)
class OfficialAccess:
    """The access rules every official's use case checks first."""

    admins: Collection[int]
    officials: OfficialRepo
    venues: VenueRepo
    regions: RegionCatalogue

    async def access_of(self, user_id: int) -> Access | None:
        """The person's access, or None for citizens and venue owners."""
        if user_id in self.admins:
            return Access(user_id, self.regions.country().id, admin=True)
        official = await self.officials.get(user_id)
        if official is None:
            return None
        return Access(user_id, official.region, admin=False)

    async def require_official(self, user_id: int) -> Access:
        access = await self.access_of(user_id)
        if access is None:
            raise Refused(NOT_OFFICIAL)
        return access

    def require_admin(self, user_id: int) -> Access:
        if user_id not in self.admins:
            raise Refused(NOT_ADMIN)
        return Access(user_id, self.regions.country().id, admin=True)

    def is_admin(self, user_id: int) -> bool:
        return user_id in self.admins

    def require_within(self, access: Access, region_id: str) -> None:
        """Refuse anything outside the person's region."""
        if not self.regions.is_within(region_id, access.scope):
            raise Refused(OUTSIDE_REGION, place=self.label(region_id), scope=self.label(access.scope))

    def label(self, region_id: str) -> str:
        return region_label(self.regions, region_id)

    def scope_of(self, access: Access) -> Region:
        return self.regions.require(access.scope)

    def region(self, access: Access, text: str | None) -> Region:
        """The region typed by an official (their whole area when nothing was typed)."""
        return self.resolve_region(access, text) if text else self.scope_of(access)

    def resolve_region(self, access: Access, text: str) -> Region:
        """A region named by an official: an id, a province, `ward, province`, or a ward of their own province.

        A name that is outside the official's area but also names wards of their own province (typing
        "Ba" means Ba Đình or Ba Vì to a Hanoi official, not Bắc Ninh) is read as those wards.
        """
        regions = self.regions
        scope = regions.require(access.scope)
        found: Region | None = None
        try:
            found = regions.resolve(text)
        except UnknownRegion as exc:
            unknown = exc
        if found is not None and regions.is_within(found.id, scope.id):
            return found
        province = scope.path[1] if len(scope.path) > 1 else None
        if province is not None:
            try:
                ward = regions.match_ward(province, text)
            except UnknownRegion as exc:
                if exc.ambiguous or found is None:
                    raise exc from None
            else:
                self.require_within(access, ward.id)
                return ward
        if found is None:
            raise unknown
        self.require_within(access, found.id)
        return found

    async def require_venue(self, access: Access, code: str) -> Venue:
        """The venue with this code, refused when unknown or outside the person's region."""
        venue = await self.venues.get(code)
        if venue is None:
            raise BadInput(UNKNOWN_VENUE, code=code)
        if not self.regions.is_within(venue.region_id, access.scope):
            raise Refused(
                OUTSIDE_REGION, place=f"{venue.name} ({venue.code})", scope=self.label(access.scope)
            )
        return venue
