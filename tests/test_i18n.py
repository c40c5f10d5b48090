"""Every user-facing string has a Vietnamese translation with the same placeholders."""

from __future__ import annotations

import string
from pathlib import Path

from babel.messages.extract import extract_from_dir

from bot.i18n import (
    format_number,
    format_signed,
    gettext_for,
    pick_language,
    translated_ids,
    translated_plurals,
)

ROOT = Path(__file__).resolve().parent.parent


KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}


def extracted() -> list[tuple[str | tuple[str, ...], str]]:
    found = []
    for package in ("bot", "handlers"):
        for filename, lineno, message, _comments, _context in extract_from_dir(
            ROOT / package, method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            found.append((message, f"{package}/{filename}:{lineno}"))
    return found


def marked_messages() -> dict[str, str]:
    found: dict[str, str] = {}
    for message, where in extracted():
        if isinstance(message, str):
            found.setdefault(message, where)
    return found


def marked_plurals() -> dict[tuple[str, str], str]:
    found: dict[tuple[str, str], str] = {}
    for message, where in extracted():
        if isinstance(message, tuple) and len(message) == 2:
            found.setdefault((message[0], message[1]), where)
    return found


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_marked_string_has_a_vietnamese_translation() -> None:
    messages = marked_messages()
    assert len(messages) > 50
    missing = {m: where for m, where in messages.items() if m not in translated_ids("vi")}
    assert not missing, f"untranslated: {missing}"


def test_every_counted_string_has_a_vietnamese_translation_with_its_placeholders() -> None:
    plurals = marked_plurals()
    assert len(plurals) >= 8, "counts in reports, summaries and replies use plural forms"
    missing = {m: where for m, where in plurals.items() if m not in translated_plurals("vi")}
    assert not missing, f"untranslated plurals: {missing}"
    vi = gettext_for("vi")
    wrong = [m for m in plurals if fields(m[1]) != fields(vi.ngettext(m[0], m[1], 2))]
    assert not wrong


def test_english_counts_use_the_singular_for_one_and_vietnamese_has_one_form() -> None:
    en, vi = gettext_for("en"), gettext_for("vi")
    assert en.ngettext("{n} person", "{n} people", 1) == "{n} person"
    assert en.ngettext("{n} person", "{n} people", 0) == "{n} people"
    assert en.ngettext("{n} person", "{n} people", 2) == "{n} people"
    for singular, plural in translated_plurals("vi"):
        assert vi.ngettext(singular, plural, 1) == vi.ngettext(singular, plural, 5)


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


def test_an_invite_link_has_one_name_in_vietnamese() -> None:
    vi = gettext_for("vi")
    invites = [message for message in marked_messages() if "invite link" in message.lower()]
    assert len(invites) >= 5
    for message in invites:
        translated = vi(message).lower()
        assert "đường dẫn mời" in translated and "link" not in translated, (message, translated)
