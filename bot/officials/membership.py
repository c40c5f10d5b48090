"""Ceasing to be an official (audited) and the list of officials; joining is an invite (bot.invites)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.officials.audit import Actor, AuditLog
from bot.services import Services
from storage.officials import Official, OfficialRepo

__all__ = ["Actor", "Roster", "revoke_official"]


def _audit_log(services: Services) -> AuditLog:
    return AuditLog(services.repos.audit, services.clock, services.settings.tz)


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
