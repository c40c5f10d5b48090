"""The audit log: every invite, join, revocation, trace and exposure alert, with who did it and when."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.i18n import N_, Gettext, format_number
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


# What each recorded action is called for people, and what its row count counts.
ACTION_NAMES = {
    "trace": N_("trace"),
    "export": N_("CSV export"),
    "exposure": N_("exposure alert"),
    "invite": N_("invite link created"),
    "join": N_("joined as an official"),
    "revoke": N_("official revoked"),
}
_ALREADY_ALERTED = re.compile(r"already alerted: (\d+)")
_INACTIVE_EXPORT = re.compile(r"inactive (\d+)d(, web)?")
_EXPIRES = re.compile(r"expires (\d{4}-\d\d-\d\d \d\d:\d\d)Z")


def _rows(entry: AuditEntry, _: Gettext, lang: str) -> str:
    n, count = entry.rows or 0, format_number(entry.rows or 0, lang)
    if entry.action == "trace":
        return _.ngettext("{n} visit", "{n} visits", n).format(n=count)
    if entry.action == "exposure":
        return _.ngettext("{n} alert queued", "{n} alerts queued", n).format(n=count)
    if entry.action == "export":
        return _.ngettext("{n} venue", "{n} venues", n).format(n=count)
    return _.ngettext("{n} row", "{n} rows", n).format(n=count)


def _detail(entry: AuditEntry, tz: ZoneInfo, _: Gettext, lang: str) -> str:
    """The recorded detail in the reader's language (free text, such as a name, as it was)."""
    if match := _ALREADY_ALERTED.fullmatch(entry.detail):
        n = int(match.group(1))
        return _.ngettext("{n} person already alerted", "{n} people already alerted", n).format(
            n=format_number(n, lang)
        )
    if match := _INACTIVE_EXPORT.fullmatch(entry.detail):
        days = int(match.group(1))
        text = _.ngettext("venues without scans in {n} day", "venues without scans in {n} days", days).format(
            n=days
        )
        return text + (", " + _("from the dashboard") if match.group(2) else "")
    if match := _EXPIRES.fullmatch(entry.detail):
        expires = datetime.fromisoformat(match.group(1)).replace(tzinfo=UTC).astimezone(tz)
        return _("valid until {time}").format(time=f"{expires:{TIME_FORMAT}}")
    return entry.detail


def audit_text(entry: AuditEntry, tz: ZoneInfo, _: Gettext, region_name: Callable[[str], str]) -> str:
    """One line of the audit log in the reader's language and local time (the chat's /audit)."""
    parts = [
        f"{entry.at.astimezone(tz):{TIME_FORMAT}}",
        f"{entry.actor_name} ({entry.actor_id})" if entry.actor_name else str(entry.actor_id),
        _(ACTION_NAMES[entry.action]) if entry.action in ACTION_NAMES else entry.action,
    ]
    if entry.venue_code:
        parts.append(entry.venue_code)
    elif entry.region:
        parts.append(region_name(entry.region))
    if entry.window_start and entry.window_end:
        parts.append(Window(entry.window_start, entry.window_end).local(tz))
    if entry.rows is not None:
        parts.append(_rows(entry, _, _.lang))
    if entry.detail:
        parts.append(_detail(entry, tz, _, _.lang))
    return " · ".join(parts)
