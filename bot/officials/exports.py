"""CSV files for officials: formula-safe cells, a BOM for spreadsheets, ZIP when too big for Telegram."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.i18n import N_, Gettext
from bot.officials.access import region_label
from bot.officials.windows import TIME_FORMAT
from bot.profiles import phone_number
from bot.regions import RegionCatalogue
from bot.text import invisible
from storage.models import UserProfile, Venue, Visit

# What makes a spreadsheet read a cell as a formula, the full-width forms included.
FORMULA_STARTS = ("=", "+", "-", "@", "＝", "＋", "－", "＠")
# Telegram takes documents up to 50 MB from bots; bigger exports (the inactive venues of a whole city)
# go out zipped.
DOCUMENT_LIMIT = 45_000_000

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
    N_("Ever scanned"),
    N_("Owner reachable"),
    N_("As of"),
)


@dataclass(frozen=True)
class Verbatim:
    """A cell written exactly as it is: only for values checked to be no formula (phone numbers)."""

    text: str


def phone_cell(phone: str | None) -> Verbatim | str:
    """A phone number as it was shared, leading + or 0 and all; anything else as an ordinary cell."""
    if phone is None:
        return ""
    number = phone_number(phone)
    return Verbatim(number) if number is not None else phone


def csv_cell(value: object) -> str:
    """A cell that a spreadsheet shows as text: a formula start is escaped with a quote.

    Spaces and invisible characters before the = + - @ do not hide it: spreadsheets skip them.
    """
    if isinstance(value, Verbatim):
        return value.text
    text = "" if value is None else str(value)
    visible = next((char for char in text if not invisible(char)), " ")
    return "'" + text if visible in FORMULA_STARTS or text.startswith(("\t", "\r")) else text


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
        # Officials must tell apart who left, who was closed by the automatic check-out, and who is
        # still there (no check-out time yet: the automatic one has not happened).
        checkout: datetime | None
        if visit.checkout_at is not None and not visit.auto_checked_out:
            ended, checkout = _("checked out"), visit.checkout_at
        elif visit.auto_checkout_at > now:
            ended, checkout = _("still checked in"), None
        else:
            ended, checkout = _("automatic check-out"), visit.auto_checkout_at
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
                f"{checkout.astimezone(tz):{TIME_FORMAT}}" if checkout else "",
                ended,
                visit.party,
                profile.display_name if profile else "",
                phone_cell(profile.phone if profile else None),
                _yes_no(_, health.symptoms if health else None),
                _yes_no(_, health.contact if health else None),
                _yes_no(_, health.travel if health else None),
                declaration,
            ]
        )
    return build_csv([_(title) for title in TRACE_HEADER], rows)


def inactive_csv(
    _: Gettext,
    regions: RegionCatalogue,
    venues: Sequence[Venue],
    reachable: dict[int, bool],
    as_of: date,
) -> bytes:
    """One row per venue without scans: code, name, address, ward, dates (the last check-in empty when
    there never was one), whether it ever scanned, whether the owner can be reached, and the day the
    list counts from (the chat's /inactive counts as of today, the report as of its own day)."""
    rows = [
        [
            venue.code,
            venue.name,
            venue.address,
            region_label(regions, venue.region_id),
            venue.created_day,
            venue.last_checkin_day or "",
            _yes_no(_, venue.last_checkin_day is not None),
            _yes_no(_, venue.owner_id is not None and reachable.get(venue.owner_id, False)),
            as_of.isoformat(),
        ]
        for venue in venues
    ]
    return build_csv([_(title) for title in INACTIVE_HEADER], rows)
