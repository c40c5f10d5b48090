"""One-time invite links: creating one, and joining as staff of a venue or as an official of a region.

Every kind of invite is one record with a kind and a target (storage.invites); opening a link
spends it for one person, atomically. What joining then does depends on the kind: staff are
added to the venue and its owner is told; officials get the invite's region, in the audit log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from bot.clock import Clock
from bot.officials import Actor
from bot.payload import new_token
from bot.staff import StaffNotices, render_staff_joined
from storage.errors import NotFound
from storage.invites import Invite, InviteExpired, InviteKind, InviteRepo, InviteUsed
from storage.models import Venue
from storage.officials import AuditRepo, NewAuditEntry, Official, OfficialRepo
from storage.venues import VenueRepo

log = logging.getLogger(__name__)

DEFAULT_TTL = timedelta(hours=72)


class JoinOutcome(StrEnum):
    """What opening an invite link did."""

    JOINED = "joined"
    NOT_FOUND = "not-found"  # never issued, of another kind, or its target is gone
    EXPIRED = "expired"
    USED = "used"
    OWNER = "owner"  # the venue's owner opened their own staff invite: not spent
    ALREADY_STAFF = "already-staff"  # existing staff opened another one: not spent


@dataclass(frozen=True)
class StaffJoin:
    """The outcome of opening a staff invite, with the venue when there is one."""

    outcome: JoinOutcome
    venue: Venue | None = None


@dataclass(frozen=True)
class OfficialJoin:
    """The outcome of opening an official invite, with the new official when it worked."""

    outcome: JoinOutcome
    official: Official | None = None


async def _redeem(
    invites: InviteRepo, token: str, kind: InviteKind, user_id: int, clock: Clock
) -> Invite | JoinOutcome:
    """Spend an invite, or the reason it cannot be spent."""
    try:
        return await invites.redeem(token, kind, user_id, clock.now())
    except InviteExpired:
        return JoinOutcome.EXPIRED
    except InviteUsed:
        return JoinOutcome.USED
    except NotFound:
        return JoinOutcome.NOT_FOUND


async def _audit(
    audit: AuditRepo, clock: Clock, actor: Actor, action: str, region: str, detail: str = ""
) -> None:
    entry = NewAuditEntry(
        actor_id=actor.user_id, actor_name=actor.name, action=action, region=region, detail=detail
    )
    await audit.record(entry, clock.now())


@dataclass(frozen=True)
class CreateInvite:
    """Issue a one-time invite link: staff of a venue (code) or official of a region (id)."""

    invites: InviteRepo
    audit: AuditRepo
    clock: Clock

    async def __call__(
        self, kind: InviteKind, target: str, actor: Actor, ttl: timedelta = DEFAULT_TTL
    ) -> Invite:
        """The new invite; an official's invite is recorded in the audit log."""
        now = self.clock.now()
        invite = await self.invites.create(
            new_token(), kind, target, created_by=actor.user_id, now=now, expires_at=now + ttl
        )
        if kind is InviteKind.OFFICIAL:
            detail = f"expires {invite.expires_at:%Y-%m-%d %H:%M}Z"
            await _audit(self.audit, self.clock, actor, "invite", target, detail)
        return invite


@dataclass(frozen=True)
class JoinAsStaff:
    """Open a staff invite: the opener becomes staff of its venue and the owner is told."""

    invites: InviteRepo
    venues: VenueRepo
    notices: StaffNotices
    clock: Clock

    async def __call__(self, token: str, user: Actor) -> StaffJoin:
        invite = await self.invites.get(token, InviteKind.STAFF)
        venue = await self.venues.get(invite.target) if invite else None
        if invite is None or venue is None:
            return StaffJoin(JoinOutcome.NOT_FOUND)
        # Neither of these spends the link: the owner checking it, or staff opening a spare one.
        if venue.can_manage(user.user_id):
            return StaffJoin(JoinOutcome.OWNER, venue)
        if user.user_id in venue.staff_ids:
            return StaffJoin(JoinOutcome.ALREADY_STAFF, venue)
        spent = await _redeem(self.invites, token, InviteKind.STAFF, user.user_id, self.clock)
        if isinstance(spent, JoinOutcome):
            return StaffJoin(spent, venue)
        venue = await self.venues.add_staff(venue.code, user.user_id)
        log.info("venue %s: new staff member joined by invite", venue.code)
        if venue.owner_id is not None:
            joined = venue
            await self.notices.queue(
                venue.owner_id,
                venue,
                key=f"staff-joined:{spent.token}",
                kind="staff-joined",
                text=lambda _: render_staff_joined(_, user.name, joined),
            )
        return StaffJoin(JoinOutcome.JOINED, venue)


@dataclass(frozen=True)
class JoinAsOfficial:
    """Open an official invite: the opener becomes an official of its region (replacing any earlier one)."""

    invites: InviteRepo
    officials: OfficialRepo
    audit: AuditRepo
    clock: Clock

    async def __call__(self, token: str, user: Actor) -> OfficialJoin:
        spent = await _redeem(self.invites, token, InviteKind.OFFICIAL, user.user_id, self.clock)
        if isinstance(spent, JoinOutcome):
            return OfficialJoin(spent)
        official = await self.officials.appoint(
            user.user_id,
            region=spent.target,
            name=user.name,
            invited_by=spent.created_by,
            now=self.clock.now(),
        )
        await _audit(self.audit, self.clock, user, "join", official.region)
        return OfficialJoin(JoinOutcome.JOINED, official)
