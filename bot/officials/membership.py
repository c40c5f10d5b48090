"""Becoming and ceasing to be an official: invites for a region, joining, revocation (all audited)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.officials.audit import Actor, AuditLog
from bot.officials.windows import DEFAULT_INVITE_TTL
from bot.payload import new_token
from bot.regions import Region
from bot.services import Services
from storage.officials import Official, OfficialInvite, OfficialRepo

__all__ = ["Actor", "Roster", "create_invite", "join_with_invite", "revoke_official"]


def _audit_log(services: Services) -> AuditLog:
    return AuditLog(services.repos.audit, services.clock, services.settings.tz)


async def create_invite(
    services: Services, actor: Actor, region: Region, ttl: timedelta = DEFAULT_INVITE_TTL
) -> OfficialInvite:
    """A one-time invite for a region; recorded in the audit log."""
    now = services.now()
    invite = await services.repos.officials.create_invite(
        new_token(), region=region.id, created_by=actor.user_id, now=now, expires_at=now + ttl
    )
    await _audit_log(services).record(
        actor, "invite", region=region.id, detail=f"expires {invite.expires_at:%Y-%m-%d %H:%M}Z"
    )
    return invite


async def join_with_invite(services: Services, token: str, actor: Actor) -> Official:
    """Redeem an invite (raises NotFound, InviteUsed, InviteExpired); recorded in the audit log."""
    official = await services.repos.officials.redeem(
        token, user_id=actor.user_id, name=actor.name, now=services.now()
    )
    await _audit_log(services).record(actor, "join", region=official.region)
    return official


async def revoke_official(services: Services, actor: Actor, user_id: int) -> Official | None:
    """Remove an official and their subscriptions; recorded in the audit log."""
    official = await services.repos.officials.revoke(user_id)
    if official is None:
        return None
    await services.repos.subscriptions.drop_user(user_id)
    await _audit_log(services).record(
        actor, "revoke", region=official.region, detail=f"{official.user_id} {official.name}"
    )
    return official


@dataclass(frozen=True)
class Roster:
    """The officials there are, for admins."""

    repo: OfficialRepo

    async def all(self) -> list[Official]:
        return await self.repo.all()
