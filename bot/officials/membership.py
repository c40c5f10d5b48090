"""Ceasing to be an official (audited) and the list of officials; joining is an invite (bot.invites)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.officials.audit import Actor, AuditLog
from storage.officials import Official, OfficialRepo, SubscriptionRepo

__all__ = ["Actor", "Roster"]


@dataclass(frozen=True)
class Roster:
    """The officials there are, for admins, and their removal."""

    repo: OfficialRepo
    subscriptions: SubscriptionRepo
    audit: AuditLog

    async def all(self) -> list[Official]:
        return await self.repo.all()

    async def revoke(self, actor: Actor, user_id: int) -> Official | None:
        """Remove an official and their subscriptions; recorded in the audit log."""
        official = await self.repo.revoke(user_id)
        if official is None:
            return None
        await self.subscriptions.drop_user(user_id)
        await self.audit.record(
            actor, "revoke", region=official.region, detail=f"{official.user_id} {official.name}"
        )
        return official
