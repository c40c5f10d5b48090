"""A venue's staff: who they are, removing one, cancelling unused invite links, and the notices this sends.

Staff join through an invite (bot.invites); the owner manages them from the venue's staff panel.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from bot.clock import Clock
from bot.i18n import Gettext, gettext_for, pick_language
from storage.errors import NotFound
from storage.invites import InviteKind, InviteRepo
from storage.models import Venue
from storage.outbox import OutboundMessage, OutboxRepo
from storage.users import UserRepo
from storage.venues import VenueRepo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StaffNotices:
    """Queues notices about a venue's staff, each in its recipient's language.

    Like every proactive message they go through the outbox: a recipient who blocked the bot is
    the delivery engine's concern, and what led to the notice is already done.
    """

    users: UserRepo
    outbox: OutboxRepo
    clock: Clock

    async def queue(
        self, chat_id: int, venue: Venue, *, key: str, kind: str, text: Callable[[Gettext], str]
    ) -> None:
        profile = await self.users.get(chat_id)
        lang = pick_language(
            profile.language if profile else None, profile.telegram_language if profile else None
        )
        message = OutboundMessage(
            key=key, kind=kind, chat_id=chat_id, text=text(gettext_for(lang)), meta={"venue": venue.code}
        )
        await self.outbox.enqueue(message, self.clock.now())


def render_staff_joined(_: Gettext, name: str, venue: Venue) -> str:
    """The owner's notice that someone used an invite link."""
    return _("{name} joined {venue} as staff. /myvenues → Staff lists and removes staff.").format(
        name=name or "?", venue=venue.name
    )


def render_staff_removed(_: Gettext, venue: Venue) -> str:
    """The removed person's notice."""
    return _("You no longer have access to {venue}: its owner removed you from its staff.").format(
        venue=venue.name
    )


@dataclass(frozen=True)
class StaffMember:
    """One person on a venue's staff, named as the bot knows them."""

    user_id: int
    name: str


@dataclass(frozen=True)
class StaffList:
    """What the owner's staff panel shows."""

    venue: Venue
    members: tuple[StaffMember, ...]
    open_invites: int


@dataclass(frozen=True)
class StaffRemoval:
    """The outcome of removing someone: whether they were staff, and the venue as it is now."""

    removed: bool
    venue: Venue


@dataclass(frozen=True)
class VenueStaff:
    """Use cases of the owner's staff panel: list, remove one person, cancel unused invite links."""

    venues: VenueRepo
    users: UserRepo
    invites: InviteRepo
    notices: StaffNotices
    clock: Clock

    async def roster(self, venue: Venue) -> StaffList:
        """The venue's staff (in the order they joined) and how many invite links are still open."""
        profiles = await self.users.get_many(list(venue.staff_ids))
        members = tuple(
            StaffMember(
                user_id, (profiles[user_id].display_name if user_id in profiles else "") or f"#{user_id}"
            )
            for user_id in venue.staff_ids
        )
        open_invites = await self.invites.open_for(InviteKind.STAFF, venue.code, self.clock.now())
        return StaffList(venue, members, len(open_invites))

    async def remove(self, venue: Venue, user_id: int | None) -> StaffRemoval:
        """Take one person off the staff and tell them; `removed` is False when they were not staff."""
        if user_id is None or user_id not in venue.staff_ids:
            return StaffRemoval(removed=False, venue=venue)
        try:
            updated = await self.venues.remove_staff(venue.code, user_id)
        except NotFound:  # removed meanwhile (a second press handled elsewhere)
            return StaffRemoval(removed=False, venue=await self.venues.require(venue.code))
        log.info("venue %s: staff member removed by the owner", venue.code)
        await self.notices.queue(
            user_id,
            updated,
            # One removal, one notice; removed again after rejoining is a new removal.
            key=f"staff-removed:{venue.code}:{user_id}:{self.clock.now().isoformat()}",
            kind="staff-removed",
            text=lambda _: render_staff_removed(_, updated),
        )
        return StaffRemoval(removed=True, venue=updated)

    async def cancel_invites(self, venue: Venue) -> int:
        """End the venue's unused invite links now; how many there were."""
        return await self.invites.revoke_open(InviteKind.STAFF, venue.code, self.clock.now())
