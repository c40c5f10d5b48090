"""Every user-facing string has a Vietnamese translation with the same placeholders."""

from __future__ import annotations

import string
from pathlib import Path

from babel.messages.extract import extract_from_dir

from bot.i18n import format_number, format_signed, gettext_for, pick_language, translated_ids

ROOT = Path(__file__).resolve().parent.parent


def marked_messages() -> dict[str, str]:
    found: dict[str, str] = {}
    for package in ("bot", "handlers"):
        for filename, lineno, message, _comments, _context in extract_from_dir(
            ROOT / package, method_map=[("**.py", "python")], keywords={"_": None, "N_": None}
        ):
            if isinstance(message, str):
                found.setdefault(message, f"{package}/{filename}:{lineno}")
    return found


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_marked_string_has_a_vietnamese_translation() -> None:
    messages = marked_messages()
    assert len(messages) > 50
    missing = {m: where for m, where in messages.items() if m not in translated_ids("vi")}
    assert not missing, f"untranslated: {missing}"


def test_translations_keep_the_placeholders() -> None:
    vi = gettext_for("vi")
    wrong = [m for m in marked_messages() if fields(m) != fields(vi(m))]
    assert not wrong


def test_language_choice() -> None:
    assert pick_language(None, None) == "vi"
    assert pick_language(None, "en-US") == "en"
    assert pick_language(None, "fr") == "vi"
    assert pick_language("en", "vi") == "en"
    assert pick_language("xx", "en") == "en"


def test_vietnamese_number_style() -> None:
    assert format_number(605000, "vi") == "605.000"
    assert format_number(605000, "en") == "605,000"
    assert format_signed(1136, "vi") == "+1.136"
    assert format_signed(-42028, "vi") == "-42.028"


def test_english_is_the_message_id() -> None:
    assert gettext_for("en")("Check out") == "Check out"
    assert gettext_for("vi")("Check out") == "Check-out"
