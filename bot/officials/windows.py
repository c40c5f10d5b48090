"""What officials type: time windows in local time, days, invite durations, numbers of days."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.clock import local_day
from bot.i18n import N_
from bot.officials.access import BadInput
from bot.payload import normalize_code

DEFAULT_INVITE_TTL = timedelta(hours=72)
MAX_INVITE_TTL = timedelta(days=30)
MAX_WINDOW = timedelta(days=31)
TIME_FORMAT = "%Y-%m-%d %H:%M"

_DURATION = re.compile(r"^\s*(\d{1,4})\s*([mhd])\s*$", re.IGNORECASE | re.ASCII)
_TIME = r"(\d{1,2}:\d{2})"
# DAY TIME [DAY] TIME, where a day may be several words ("3 Dec 2026", "hôm qua").
_WINDOW = re.compile(rf"^(.+?) {_TIME} (?:(.+?) )?{_TIME}$", re.ASCII)
_ISO_T = re.compile(r"(\d)T(\d{1,2}:\d{2})", re.ASCII)
_ISO_DAY = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$", re.ASCII)
_DMY_DAY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$", re.ASCII)
_NAMED_DAY = re.compile(r"^(\d{1,2}) ([a-z]{3,9})\.?,? (\d{4})$", re.ASCII)
_DATE_LIKE = re.compile(r"^\d+[-/.]\d+([-/.]\d+)?$", re.ASCII)
_MONTH_NAMES = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip
# "3 Dec 2026", "3 December 2026", "3 Sept 2026": English month names are unambiguous.
_MONTHS = {
    **{name: number for number, name in enumerate(_MONTH_NAMES, start=1)},
    **{name[:3]: number for number, name in enumerate(_MONTH_NAMES, start=1)},
    "sept": 9,
}
_RELATIVE_DAYS = {"today": 0, "hôm nay": 0, "hom nay": 0, "yesterday": -1, "hôm qua": -1, "hom qua": -1}
# Longer input is no window or day: refusing it early keeps the patterns' backtracking short.
MAX_WINDOW_TEXT = 80
MAX_DAY_TEXT = 30
_QUOTES = str.maketrans({quote: " " for quote in "\"'“”‘’«»"})

WINDOW_USAGE = N_(
    "Send /{command} VENUE_CODE FROM TO, with local times written YYYY-MM-DD HH:MM, "
    "for example: /{command} K7Q2XH4M 2026-11-18 08:00 2026-11-18 12:30"
)
WINDOW_BACKWARDS = N_("The end of the window must come after its start.")
WINDOW_TOO_LONG = N_("A window can be at most 31 days long.")
WINDOW_IN_FUTURE = N_("The window starts in the future.")
DAY_USAGE = N_("Write the date as YYYY-MM-DD, for example 2026-11-18.")


@dataclass(frozen=True)
class Window:
    """A time window in UTC, typed by an official in local time."""

    start: datetime
    end: datetime

    def local(self, tz: ZoneInfo) -> str:
        return f"{self.start.astimezone(tz):%d/%m/%Y %H:%M} – {self.end.astimezone(tz):%d/%m/%Y %H:%M}"


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


def _local_moment(day: date, clock: str, tz: ZoneInfo) -> datetime:
    hour, minute = (int(part) for part in clock.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz).astimezone(UTC)


def check_window(window: Window, *, now: datetime) -> Window:
    """The rules every window obeys, typed or confirmed: forwards, at most 31 days, not in the future."""
    if window.end <= window.start:
        raise BadInput(WINDOW_BACKWARDS)
    if window.end - window.start > MAX_WINDOW:
        raise BadInput(WINDOW_TOO_LONG)
    if window.start > now:
        raise BadInput(WINDOW_IN_FUTURE)
    return window


def parse_window(text: str, tz: ZoneInfo, *, now: datetime, command: str) -> Window:
    """`FROM TO` in local time, each a day (see `read_day`) and `HH:MM`; TO may be just `HH:MM` (same day)."""
    match = _WINDOW.match(_plain(text)) if len(text) <= MAX_WINDOW_TEXT else None
    if not match:
        raise BadInput(WINDOW_USAGE, command=command)
    start_text, start_time, end_text, end_time = match.groups()
    today = local_day(now, tz)
    start_day = read_day(start_text, today)
    end_day = read_day(end_text, today) if end_text else start_day
    if start_day is None or end_day is None:
        raise BadInput(WINDOW_USAGE, command=command)
    try:
        start = _local_moment(start_day, start_time, tz)
        end = _local_moment(end_day, end_time, tz)
    except (ValueError, OverflowError):  # 25:00, or year 1 east of UTC
        raise BadInput(WINDOW_USAGE, command=command) from None
    return check_window(Window(start, end), now=now)


def parse_venue_window(
    args: Sequence[str], tz: ZoneInfo, *, now: datetime, command: str
) -> tuple[str, Window]:
    """`VENUE_CODE FROM TO` as typed after /trace or /exposure."""
    code = normalize_code(args[0]) if args else None
    if code is None or len(args) < 3:
        raise BadInput(WINDOW_USAGE, command=command)
    return code, parse_window(" ".join(args[1:]), tz, now=now, command=command)


def _plain(text: str) -> str:
    """Typed text without quotes, in one Unicode form, single-spaced, `2026-11-19T08:00` split at the T."""
    text = unicodedata.normalize("NFC", text).translate(_QUOTES)
    return _ISO_T.sub(r"\1 \2", " ".join(text.split()))


def read_day(text: str, today: date) -> date | None:
    """A day as people type it: 2026-11-25, 25/11/2026, 3 Dec 2026, hôm nay, hôm qua, today, yesterday."""
    if len(text) > MAX_DAY_TEXT:
        return None
    plain = _plain(text).casefold()
    if plain in _RELATIVE_DAYS:
        return today + timedelta(days=_RELATIVE_DAYS[plain])
    try:
        if match := _ISO_DAY.match(plain):
            year, month, mday = (int(part) for part in match.groups())
        elif match := _DMY_DAY.match(plain):
            mday, month, year = (int(part) for part in match.groups())
        elif match := _NAMED_DAY.match(plain):
            mday, month, year = int(match.group(1)), _MONTHS[match.group(2)], int(match.group(3))
        else:
            return None
        return date(year, month, mday)
    except (KeyError, ValueError):
        return None


def looks_like_date(raw: str) -> bool:
    """Whether a command's first word is meant as a date rather than a place (digits and separators)."""
    return _DATE_LIKE.match(_plain(raw)) is not None


def split_leading_day(args: Sequence[str], today: date) -> tuple[date | None, list[str]]:
    """A day at the start of a command's arguments (it may take up to three words), and the rest.

    A first word shaped like a date that is not one (2026-13-01) is refused rather than read as a place.
    """
    words = _plain(" ".join(args)).split(" ") if args else []
    for size in (3, 2, 1):
        if len(words) >= size:
            day = read_day(" ".join(words[:size]), today)
            if day is not None:
                return day, words[size:]
    if words and looks_like_date(words[0]):
        raise BadInput(DAY_USAGE)
    return None, words


def parse_day(raw: str, today: date) -> date:
    """A day typed on its own (see `read_day`)."""
    day = read_day(raw, today)
    if day is None:
        raise BadInput(DAY_USAGE)
    return day


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The UTC moment a local day starts (refused for days a UTC datetime cannot hold)."""
    try:
        return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
    except OverflowError:
        raise BadInput(DAY_USAGE) from None


def parse_count(raw: str) -> int | None:
    """A whole number typed in ASCII digits (None otherwise: `isdigit()` alone accepts "²", which int() refuses)."""
    if not (raw.isascii() and raw.isdigit()):
        return None
    return int(raw)
