"""The audit log: every invite, join, revocation, trace and exposure alert, with who did it and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.officials.windows import TIME_FORMAT, Window, local_midnight
from storage.officials import AuditEntry, AuditRepo, NewAuditEntry

CLI_ACTOR_ID = 0
CLI_ACTOR_NAME = "command line"


@dataclass(frozen=True)
class Actor:
    """Who acts, as the audit log records it."""

    user_id: int
    name: str


CLI_ACTOR = Actor(CLI_ACTOR_ID, CLI_ACTOR_NAME)


@dataclass(frozen=True)
class AuditLog:
    """Records actions and reads them back, newest first."""

    repo: AuditRepo
    clock: Clock
    tz: ZoneInfo

    async def record(
        self,
        actor: Actor,
        action: str,
        *,
        region: str | None = None,
        venue_code: str | None = None,
        window: Window | None = None,
        rows: int | None = None,
        detail: str = "",
    ) -> AuditEntry:
        return await self.repo.record(
            NewAuditEntry(
                actor_id=actor.user_id,
                actor_name=actor.name,
                action=action,
                region=region,
                venue_code=venue_code,
                window_start=window.start if window else None,
                window_end=window.end if window else None,
                rows=rows,
                detail=detail,
            ),
            self.clock.now(),
        )

    async def since(self, day: date | None, *, limit: int = 0) -> list[AuditEntry]:
        """Entries from the start of a local day on (all of them when `day` is None), newest first."""
        since: datetime | None = local_midnight(day, self.tz) if day is not None else None
        return await self.repo.since(since, limit=limit)


def audit_line(entry: AuditEntry, tz: ZoneInfo) -> str:
    """One line of the audit log for people: when, who, what, where, which window, how many rows."""
    parts = [
        f"{entry.at.astimezone(tz):{TIME_FORMAT}}",
        f"{entry.actor_id} {entry.actor_name}".strip(),
        entry.action,
    ]
    if entry.venue_code:
        parts.append(entry.venue_code)
    if entry.region and not entry.venue_code:
        parts.append(entry.region)
    if entry.window_start and entry.window_end:
        parts.append(Window(entry.window_start, entry.window_end).local(tz))
    if entry.rows is not None:
        parts.append(f"rows={entry.rows}")
    if entry.detail:
        parts.append(entry.detail)
    return " · ".join(parts)
