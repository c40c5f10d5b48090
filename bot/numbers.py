"""Numbers people type: one parser for capacities, minutes, pages and every other typed count.

Python's `int()` is far more lenient than a person means to be: it takes `1_000`, `+40`,
Arabic-Indic and other Unicode digits, and surrounding whitespace. A count typed in a chat is
ASCII digits only, optionally followed by a unit the caller names ("30 người", "45 phút"), so
every field accepts and refuses the same things.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# A person types at most this many digits for any count we ask for; longer is out of every range
# (and keeps int() far from its digit limit).
MAX_DIGITS = 18

_WHOLE = re.compile(r"([0-9]+)(?:\s*(\S.*))?")
_NEGATIVE = re.compile(r"-\s*[0-9]+")
_DECIMAL = re.compile(r"[0-9]*[.,][0-9]+(?:\s*\S.*)?")


class NotANumber(ValueError):
    """Text that is not a whole number written with ASCII digits (and an accepted unit)."""

    def __init__(self, text: str, *, decimal: bool = False) -> None:
        super().__init__(text)
        self.decimal = decimal  # digits with a decimal point or comma: a fraction, or 1.000 style


class OutOfRange(ValueError):
    """A whole number outside the range asked for."""

    def __init__(self, value: int | None, low: int, high: int) -> None:
        super().__init__(f"{value} not in [{low}, {high}]")
        self.value, self.low, self.high = value, low, high


def _folded(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def parse_whole(text: str, *, low: int, high: int, units: Iterable[str] = ()) -> int:
    """The whole number in `text`, from `low` to `high`, optionally followed by one of `units`.

    Raises NotANumber (with `.decimal` for "4.5" or "1.000") or OutOfRange (also for "-3": counts
    are never negative, and "out of range" tells the person more than "not a number").
    """
    stripped = text.strip()
    if _DECIMAL.fullmatch(stripped):
        raise NotANumber(text, decimal=True)
    if _NEGATIVE.fullmatch(stripped):  # a number, only below every range of counts
        raise OutOfRange(None, low, high)
    match = _WHOLE.fullmatch(stripped)
    if match is None:
        raise NotANumber(text)
    digits, unit = match.group(1), match.group(2)
    if unit is not None and _folded(unit) not in {_folded(u) for u in units}:
        raise NotANumber(text)
    if len(digits.lstrip("0")) > MAX_DIGITS:
        raise OutOfRange(None, low, high)
    value = int(digits)
    if not low <= value <= high:
        raise OutOfRange(value, low, high)
    return value


def whole_or_none(text: str | None, *, low: int, high: int) -> int | None:
    """A number carried by a button or a command argument; None when it is not one in range."""
    if text is None:
        return None
    try:
        return parse_whole(text, low=low, high=high)
    except (NotANumber, OutOfRange):
        return None
