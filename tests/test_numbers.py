"""One parser for every typed count: ASCII digits only, an optional unit the field names."""

from __future__ import annotations

import random

import pytest

from bot.numbers import NotANumber, OutOfRange, parse_whole, whole_or_none
from bot.venues import InvalidInput, parse_auto_checkout, parse_capacity

PEOPLE = ("người", "people")


@pytest.mark.parametrize(
    ("typed", "value"),
    [("30", 30), (" 30\n", 30), ("0030", 30), ("30 người", 30), ("30người", 30), ("30 NGƯỜI", 30),
     ("30  people ", 30), ("30\u00a0người", 30)],
)  # fmt: skip
def test_whole_numbers_with_or_without_a_named_unit(typed: str, value: int) -> None:
    assert parse_whole(typed, low=1, high=100, units=PEOPLE) == value


@pytest.mark.parametrize(
    "typed",
    ["", " ", "1_000", "+40", "٤٠", "۴۰", "४०", "４０", "4²", "²", "½", "1e3", "0x10", "4 0", "30 cats",
     "30 người 5", "người 30", "forty"],
)  # fmt: skip
def test_anything_but_ascii_digits_and_a_named_unit_is_not_a_number(typed: str) -> None:
    with pytest.raises(NotANumber) as refused:
        parse_whole(typed, low=1, high=100_000, units=PEOPLE)
    assert not refused.value.decimal


@pytest.mark.parametrize("typed", ["4.5", "4,5", ".5", "1.000", "1,000 người"])
def test_decimals_are_told_apart(typed: str) -> None:
    with pytest.raises(NotANumber) as refused:
        parse_whole(typed, low=1, high=100_000, units=PEOPLE)
    assert refused.value.decimal


@pytest.mark.parametrize("typed", ["0", "101", "-3", "- 3", "9" * 5000])
def test_out_of_range(typed: str) -> None:
    with pytest.raises(OutOfRange):
        parse_whole(typed, low=1, high=100)


ALPHABET = "0123456789 +-_.,eE²٤۴४４½người\u00a0\n\tpeople"


def test_any_text_is_a_number_in_range_or_refused_cleanly() -> None:
    chance = random.Random(8)
    for _ in range(3000):
        typed = "".join(chance.choice(ALPHABET) for _ in range(chance.randint(0, 12)))
        try:
            value = parse_whole(typed, low=1, high=1000, units=PEOPLE)
        except (NotANumber, OutOfRange):
            continue
        digits = typed.strip()[: len(typed.strip()) - len(typed.strip().lstrip("0123456789"))]
        assert 1 <= value <= 1000 and int(digits) == value, typed
        assert digits.isascii() and whole_or_none(digits, low=1, high=1000) == value


def test_capacity_and_minutes_refuse_the_same_lenient_forms() -> None:
    assert parse_capacity("30 người") == 30
    assert parse_capacity(" 40 ") == 40
    for lenient in ("1_000", "+40", "٤٠", "4²"):
        with pytest.raises(InvalidInput):
            parse_capacity(lenient)
        with pytest.raises(InvalidInput):
            parse_auto_checkout(lenient)
    with pytest.raises(InvalidInput):
        parse_auto_checkout("30 người")
