"""The officials' side: access by region, trace windows, CSV exports, exposure alerts, morning reports.

Plain functions over `Services`; the chat handlers and the CLI only parse, call these and reply.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.i18n import N_, Gettext, gettext_for, pick_language
from bot.payload import normalize_code
from bot.regions import Region, UnknownRegion
from bot.reports import RegionReport, build_report, render_report
from bot.services import Services
from storage.models import UserProfile, Venue, Visit
from storage.officials import AuditEntry, NewAuditEntry, Official
from storage.outbox import OutboundMessage

DEFAULT_INVITE_TTL = timedelta(hours=72)
MAX_INVITE_TTL = timedelta(days=30)
MAX_WINDOW = timedelta(days=31)
INACTIVE_DEFAULT_DAYS = 3
INACTIVE_MAX_DAYS = 90
CLI_ACTOR_ID = 0
CLI_ACTOR_NAME = "command line"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TIME_FORMAT = "%Y-%m-%d %H:%M"
# Telegram takes documents up to 50 MB from bots; bigger exports (the inactive venues of a whole city)
# go out zipped.
DOCUMENT_LIMIT = 45_000_000

_DURATION = re.compile(r"^\s*(\d{1,4})\s*([mhd])\s*$", re.IGNORECASE)
_MOMENT = r"(\d{4}-\d{1,2}-\d{1,2})[ T](\d{1,2}:\d{2})"
_WINDOW = re.compile(rf"^{_MOMENT}\s+(?:(\d{{4}}-\d{{1,2}}-\d{{1,2}})[ T])?(\d{{1,2}}:\d{{2}})$")

NOT_OFFICIAL = N_(
    "This command is for public-health officials. If you are one, ask an administrator for an invite link."
)
NOT_ADMIN = N_("Only administrators can do this.")
OUTSIDE_REGION = N_("{place} is outside your area ({scope}). You can only see and act within {scope}.")
UNKNOWN_VENUE = N_("There is no venue with the code {code}.")
WINDOW_USAGE = N_(
    "Send /{command} VENUE_CODE FROM TO, with local times written YYYY-MM-DD HH:MM, "
    "for example: /{command} K7Q2XH4M 2026-11-18 08:00 2026-11-18 12:30"
)
WINDOW_BACKWARDS = N_("The end of the window must come after its start.")
WINDOW_TOO_LONG = N_("A window can be at most 31 days long.")
WINDOW_IN_FUTURE = N_("The window starts in the future.")


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


@dataclass(frozen=True)
class Actor:
    """Who acts, as the audit log records it."""

    user_id: int
    name: str


CLI_ACTOR = Actor(CLI_ACTOR_ID, CLI_ACTOR_NAME)


@dataclass(frozen=True)
class Window:
    """A time window in UTC, typed by an official in local time."""

    start: datetime
    end: datetime

    def local(self, tz: ZoneInfo) -> str:
        return f"{self.start.astimezone(tz):%d/%m/%Y %H:%M} – {self.end.astimezone(tz):%d/%m/%Y %H:%M}"


async def access_of(services: Services, user_id: int) -> Access | None:
    """The person's access, or None for citizens and venue owners."""
    if user_id in services.settings.admins:
        return Access(user_id, services.regions.country().id, admin=True)
    official = await services.repos.officials.get(user_id)
    if official is None:
        return None
    return Access(user_id, official.region, admin=False)


async def require_official(services: Services, user_id: int) -> Access:
    access = await access_of(services, user_id)
    if access is None:
        raise Refused(NOT_OFFICIAL)
    return access


def require_admin(services: Services, user_id: int) -> Access:
    if user_id not in services.settings.admins:
        raise Refused(NOT_ADMIN)
    return Access(user_id, services.regions.country().id, admin=True)


def require_within(services: Services, access: Access, region_id: str) -> None:
    """Refuse anything outside the person's region."""
    if not services.regions.is_within(region_id, access.scope):
        raise Refused(
            OUTSIDE_REGION,
            place=region_label(services, region_id),
            scope=region_label(services, access.scope),
        )


def region_label(services: Services, region_id: str) -> str:
    region = services.regions.get(region_id)
    return services.regions.label(region_id) if region else region_id


def resolve_region(services: Services, access: Access, text: str) -> Region:
    """A region named by an official: an id, a province, `ward, province`, or a ward of their own province.

    A name that is outside the official's area but also names wards of their own province (typing
    "Ba" means Ba Đình or Ba Vì to a Hanoi official, not Bắc Ninh) is read as those wards.
    """
    regions = services.regions
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
            require_within(services, access, ward.id)
            return ward
    if found is None:
        raise unknown
    require_within(services, access, found.id)
    return found


async def require_venue(services: Services, access: Access, code: str) -> Venue:
    venue = await services.repos.venues.get(code)
    if venue is None:
        raise BadInput(UNKNOWN_VENUE, code=code)
    if not services.regions.is_within(venue.region_id, access.scope):
        raise Refused(
            OUTSIDE_REGION, place=f"{venue.name} ({venue.code})", scope=region_label(services, access.scope)
        )
    return venue


def parse_duration(text: str) -> timedelta:
    """A duration written like 90m, 72h or 3d."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration like 90m, 72h or 3d")
    amount, unit = int(match.group(1)), match.group(2).lower()
    value = (
        timedelta(minutes=amount) if unit == "m" else timedelta(hours=amount if unit == "h" else amount * 24)
    )
    if not timedelta(minutes=1) <= value <= MAX_INVITE_TTL:
        raise ValueError("an invite lasts between 1 minute and 30 days")
    return value


def _local_moment(day: str, clock: str, tz: ZoneInfo) -> datetime:
    year, month, mday = (int(part) for part in day.split("-"))
    hour, minute = (int(part) for part in clock.split(":"))
    return datetime(year, month, mday, hour, minute, tzinfo=tz).astimezone(UTC)


def parse_window(text: str, tz: ZoneInfo, *, now: datetime, command: str) -> Window:
    """`FROM TO` in local time: `YYYY-MM-DD HH:MM` or `YYYY-MM-DDTHH:MM`; TO may be just `HH:MM` (same day)."""
    match = _WINDOW.match(" ".join(text.split()))
    if not match:
        raise BadInput(WINDOW_USAGE, command=command)
    start_day, start_time, end_day, end_time = match.groups()
    try:
        start = _local_moment(start_day, start_time, tz)
        end = _local_moment(end_day or start_day, end_time, tz)
    except ValueError:
        raise BadInput(WINDOW_USAGE, command=command) from None
    if end <= start:
        raise BadInput(WINDOW_BACKWARDS)
    if end - start > MAX_WINDOW:
        raise BadInput(WINDOW_TOO_LONG)
    if start > now:
        raise BadInput(WINDOW_IN_FUTURE)
    return Window(start, end)


def parse_venue_window(
    args: Sequence[str], tz: ZoneInfo, *, now: datetime, command: str
) -> tuple[str, Window]:
    """`VENUE_CODE FROM TO` as typed after /trace or /exposure."""
    code = normalize_code(args[0]) if args else None
    if code is None or len(args) < 3:
        raise BadInput(WINDOW_USAGE, command=command)
    return code, parse_window(" ".join(args[1:]), tz, now=now, command=command)


# ---- CSV --------------------------------------------------------------------------------------------


def csv_cell(value: object) -> str:
    """A cell that a spreadsheet shows as text: a leading = + - @ (or tab, CR) is escaped with a quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def build_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """UTF-8 CSV with a byte-order mark, so spreadsheet programs read Vietnamese correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([csv_cell(cell) for cell in header])
    for row in rows:
        writer.writerow([csv_cell(cell) for cell in row])
    return buffer.getvalue().encode("utf-8-sig")


def fit_document(filename: str, content: bytes, *, limit: int = DOCUMENT_LIMIT) -> tuple[str, bytes]:
    """The file as it can be sent: unchanged when small enough, else the same file inside a ZIP archive."""
    if len(content) <= limit:
        return filename, content
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        archive.writestr(filename, content)
    return f"{filename}.zip", buffer.getvalue()


TRACE_HEADER = (
    N_("Check-in"),
    N_("Check-out"),
    N_("Ended by"),
    N_("Party size"),
    N_("Display name"),
    N_("Phone"),
    N_("Fever, cough or breathing difficulty"),
    N_("Close contact with a case"),
    N_("Travel from a restricted area"),
    N_("Health declaration"),
)
INACTIVE_HEADER = (
    N_("Code"),
    N_("Venue"),
    N_("Address"),
    N_("Ward"),
    N_("Registered on"),
    N_("Last check-in"),
    N_("Owner reachable"),
)


def _yes_no(_: Gettext, value: bool | None) -> str:
    if value is None:
        return ""
    return _("yes") if value else _("no")


def trace_csv(
    _: Gettext, visits: Sequence[Visit], profiles: dict[int, UserProfile], tz: ZoneInfo, now: datetime
) -> bytes:
    """One row per visit: times, how it ended, party, name, phone (if shared), health answers."""
    rows = []
    for visit in visits:
        profile = profiles.get(visit.user_id)
        if visit.checkout_at is not None:
            ended = _("checked out")
        elif visit.auto_checkout_at > now:
            ended = _("still checked in")
        else:
            ended = _("automatic check-out")
        if visit.health is not None:
            declaration = _("answered")
        elif visit.health_skipped:
            declaration = _("skipped")
        else:
            declaration = _("not asked")
        health = visit.health
        rows.append(
            [
                f"{visit.checkin_at.astimezone(tz):{TIME_FORMAT}}",
                f"{visit.ended_at.astimezone(tz):{TIME_FORMAT}}",
                ended,
                visit.party,
                profile.display_name if profile else "",
                (profile.phone or "") if profile else "",
                _yes_no(_, health.symptoms if health else None),
                _yes_no(_, health.contact if health else None),
                _yes_no(_, health.travel if health else None),
                declaration,
            ]
        )
    return build_csv([_(title) for title in TRACE_HEADER], rows)


def inactive_csv(
    _: Gettext, services: Services, venues: Sequence[Venue], reachable: dict[int, bool]
) -> bytes:
    rows = [
        [
            venue.code,
            venue.name,
            venue.address,
            region_label(services, venue.region_id),
            venue.created_day,
            venue.last_checkin_day or _("never"),
            _yes_no(_, venue.owner_id is not None and reachable.get(venue.owner_id, False)),
        ]
        for venue in venues
    ]
    return build_csv([_(title) for title in INACTIVE_HEADER], rows)


# ---- Invites and officials ----------------------------------------------------------------------------


async def revoke_official(services: Services, actor: Actor, user_id: int) -> Official | None:
    """Remove an official and their subscriptions; recorded in the audit log."""
    official = await services.repos.officials.revoke(user_id)
    if official is None:
        return None
    await services.repos.subscriptions.drop_user(user_id)
    await audit(
        services, actor, "revoke", region=official.region, detail=f"{official.user_id} {official.name}"
    )
    return official


async def audit(
    services: Services,
    actor: Actor,
    action: str,
    *,
    region: str | None = None,
    venue_code: str | None = None,
    window: Window | None = None,
    rows: int | None = None,
    detail: str = "",
) -> AuditEntry:
    return await services.repos.audit.record(
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
        services.now(),
    )


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


# ---- Inactive venues, tracing ----------------------------------------------------------------------------


async def inactive_venues(services: Services, region_id: str, days: int) -> list[Venue]:
    """Active venues registered at least `days` days ago without a check-in in the last `days` days (today included)."""
    today = services.today()
    cutoff = (today - timedelta(days=days)).isoformat()
    since = (today - timedelta(days=days - 1)).isoformat()
    return await services.repos.venues.inactive(region_id, registered_by=cutoff, no_checkin_since=since)


async def owners_reachable(services: Services, venues: Sequence[Venue]) -> dict[int, bool]:
    """Whether each owner still has a profile the bot can message."""
    owners = sorted({venue.owner_id for venue in venues if venue.owner_id is not None})
    reachable: dict[int, bool] = {}
    for start in range(0, len(owners), 5000):
        chunk = owners[start : start + 5000]
        profiles = await services.repos.users.get_many(chunk)
        reachable.update({owner: owner in profiles and not profiles[owner].unreachable for owner in chunk})
    return reachable


@dataclass(frozen=True)
class Trace:
    """Visits overlapping a window at one venue, with the people's profiles."""

    venue: Venue
    window: Window
    visits: list[Visit]
    profiles: dict[int, UserProfile]


async def run_trace(services: Services, access: Access, actor: Actor, code: str, window: Window) -> Trace:
    """Look up who was at a venue in a window; every look-up is recorded in the audit log."""
    venue = await require_venue(services, access, code)
    visits = await services.repos.checkins.overlapping(venue.code, window.start, window.end)
    profiles = await services.repos.users.get_many(sorted({visit.user_id for visit in visits}))
    await audit(
        services,
        actor,
        "trace",
        region=venue.region_id,
        venue_code=venue.code,
        window=window,
        rows=len(visits),
    )
    return Trace(venue, window, visits, profiles)


# ---- Exposure alerts ------------------------------------------------------------------------------------

EXPOSURE_ALERT = N_(
    "⚠️ Exposure alert\n"
    "A confirmed case was at {venue} ({address}) between {start} and {end}.\n"
    "You checked in there: {visits}.\n\n"
    "Please watch your health for 14 days. If you get a fever, a cough or difficulty breathing, stay at home, "
    "wear a mask and call your local health station or the Ministry of Health hotline 1900 9095. "
    "Meanwhile avoid crowded places and close contact with elderly or ill people."
)


@dataclass(frozen=True)
class ExposurePlan:
    """Who would be alerted about a window at a venue, and who already was."""

    venue: Venue
    window: Window
    to_alert: dict[int, list[Visit]]
    profiles: dict[int, UserProfile]
    already_alerted: int

    @property
    def people(self) -> int:
        return len(self.to_alert)


async def plan_exposure(services: Services, access: Access, code: str, window: Window) -> ExposurePlan:
    """The people whose visits overlap the window and have not been alerted about those visits yet.

    Only people with a profile can be messaged: citizens who used /forget have neither visits nor a profile.
    """
    venue = await require_venue(services, access, code)
    visits = await services.repos.checkins.overlapping(venue.code, window.start, window.end)
    alerted = await services.repos.exposures.alerted(visit.id for visit in visits)
    by_person: dict[int, list[Visit]] = {}
    done: set[int] = set()
    for visit in visits:
        if visit.id in alerted:
            done.add(visit.user_id)
        else:
            by_person.setdefault(visit.user_id, []).append(visit)
    profiles = await services.repos.users.get_many(sorted(by_person))
    to_alert = {user: found for user, found in by_person.items() if user in profiles}
    return ExposurePlan(
        venue=venue,
        window=window,
        to_alert=to_alert,
        profiles=profiles,
        already_alerted=len(done - set(to_alert)),
    )


def exposure_text(_: Gettext, venue: Venue, window: Window, visits: Sequence[Visit], tz: ZoneInfo) -> str:
    """The alert one person gets: the venue, the window, their own visit times, advice."""
    times = "; ".join(
        f"{visit.checkin_at.astimezone(tz):%d/%m/%Y %H:%M}–{visit.ended_at.astimezone(tz):%H:%M}"
        for visit in visits
    )
    return _(EXPOSURE_ALERT).format(
        venue=venue.name,
        address=venue.address,
        start=f"{window.start.astimezone(tz):%H:%M %d/%m/%Y}",
        end=f"{window.end.astimezone(tz):%H:%M %d/%m/%Y}",
        visits=times,
    )


def exposure_key(venue_code: str, user_id: int, first_visit_id: str) -> str:
    return f"exposure:{venue_code}:{user_id}:{first_visit_id}"


async def send_exposure(services: Services, actor: Actor, plan: ExposurePlan) -> int:
    """Queue one alert per person (in their language) through the outbox; the number newly queued.

    Keys name the person's first not-yet-alerted visit and the visits are marked afterwards, so
    running the same exposure again, or confirming it twice at once, notifies nobody twice.
    """
    tz = services.settings.tz
    messages = []
    for user_id, visits in plan.to_alert.items():
        profile = plan.profiles[user_id]
        lang = pick_language(profile.language, profile.telegram_language)
        messages.append(
            OutboundMessage(
                key=exposure_key(plan.venue.code, user_id, visits[0].id),
                kind="exposure",
                chat_id=user_id,
                text=exposure_text(gettext_for(lang), plan.venue, plan.window, visits, tz),
                meta={"venue": plan.venue.code, "visits": [visit.id for visit in visits]},
            )
        )
    now = services.now()
    queued = await services.repos.outbox.enqueue_many(messages, now)
    entry = await audit(
        services,
        actor,
        "exposure",
        region=plan.venue.region_id,
        venue_code=plan.venue.code,
        window=plan.window,
        rows=queued,
        detail=f"already alerted: {plan.already_alerted + len(messages) - queued}",
    )
    visit_ids = [visit.id for visits in plan.to_alert.values() for visit in visits]
    expires = now + timedelta(days=services.settings.retention_days)
    await services.repos.exposures.mark(
        plan.venue.code, visit_ids, audit_id=entry.id, now=now, expires_at=expires
    )
    return queued


# ---- Morning reports --------------------------------------------------------------------------------


async def subscriber_scopes(services: Services, user_ids: Iterable[int]) -> dict[int, str]:
    """The current scope of each subscriber who is still an official or an admin."""
    ids = sorted(set(user_ids))
    officials = await services.repos.officials.get_many(ids)
    country = services.regions.country().id
    scopes = {user: official.region for user, official in officials.items()}
    scopes.update({user: country for user in ids if user in services.settings.admins})
    return scopes


async def queue_official_reports(services: Services, day: date) -> int:
    """Queue the report of `day` for every subscription, in each subscriber's language; the number newly queued.

    Keys are `official-report:<user>:<region>:<day>`, so running this twice for a day queues nothing new.
    Subscriptions of people who are no longer officials, or regions now outside their scope, are skipped.
    """
    subscriptions = await services.repos.subscriptions.all()
    if not subscriptions:
        return 0
    users = [subscription.user_id for subscription in subscriptions]
    scopes = await subscriber_scopes(services, users)
    profiles = await services.repos.users.get_many(sorted(set(users)))
    reports: dict[str, RegionReport] = {}
    texts: dict[tuple[str, str], str] = {}
    messages = []
    for subscription in subscriptions:
        scope = scopes.get(subscription.user_id)
        region = subscription.region
        if (
            scope is None
            or services.regions.get(region) is None
            or not services.regions.is_within(region, scope)
        ):
            continue
        profile = profiles.get(subscription.user_id)
        lang = (
            pick_language(profile.language, profile.telegram_language)
            if profile
            else pick_language(None, None)
        )
        if region not in reports:
            reports[region] = await build_report(services.repos.stats, services.regions, region, day)
        if (region, lang) not in texts:
            texts[region, lang] = render_report(reports[region], gettext_for(lang), lang)
        messages.append(
            OutboundMessage(
                key=f"official-report:{subscription.user_id}:{region}:{day.isoformat()}",
                kind="official-report",
                chat_id=subscription.user_id,
                text=texts[region, lang],
                meta={"region": region, "day": day.isoformat()},
            )
        )
    return await services.repos.outbox.enqueue_many(messages, services.now())
