"""Translations from gettext catalogs (Babel `.po` files), Vietnamese by default.

Message ids are the English text. Each audience keeps its own catalog file under
`bot/locale/<lang>/LC_MESSAGES/<domain>.po`; all of a language's files are merged.
Mark strings with `_("...")` (translated now) or `N_("...")` (translated later), and counts
with `_.ngettext("1 person", "{n} people", n)`, so `tests/test_i18n.py` can check every one has a
Vietnamese translation. Vietnamese has one plural form, English two.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from babel.messages.pofile import read_po
from babel.numbers import format_decimal

if TYPE_CHECKING:
    from storage.users import UserRepo

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"


def N_(message: str) -> str:
    """Mark a string for translation without translating it yet."""
    return message


def pick_language(chosen: str | None, telegram_code: str | None) -> str:
    """The user's language: their explicit choice, else English for `en*` Telegram clients, else Vietnamese."""
    if chosen in LANGUAGES:
        return chosen
    if telegram_code and telegram_code.lower().startswith("en"):
        return "en"
    return DEFAULT_LANGUAGE


@dataclass(frozen=True)
class _Catalog:
    messages: Mapping[str, str]
    plurals: Mapping[tuple[str, str], tuple[str, ...]]


@cache
def _catalog(lang: str) -> _Catalog:
    messages: dict[str, str] = {}
    plurals: dict[tuple[str, str], tuple[str, ...]] = {}
    folder = LOCALE_DIR / lang / "LC_MESSAGES"
    for po in sorted(folder.glob("*.po")) if folder.is_dir() else []:
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=lang)
        for message in catalog:
            if not message.id or not message.string or message.fuzzy:
                continue
            if isinstance(message.id, str):
                messages[message.id] = str(message.string)
            elif all(message.string):
                singular, plural = message.id[0], message.id[1]
                plurals[(singular, plural)] = tuple(str(form) for form in message.string)
    return _Catalog(messages, plurals)


def _english_plural(n: int) -> int:
    return 0 if n == 1 else 1


def _vietnamese_plural(n: int) -> int:
    return 0


@dataclass(frozen=True)
class Gettext:
    """The `_` of one language: `_(message)` and `_.ngettext(singular, plural, n)`."""

    lang: str

    def __call__(self, message: str) -> str:
        if self.lang == "en":
            return message
        return _catalog(self.lang).messages.get(message, message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The form of a message for the count `n`; unknown ids fall back to English rules."""
        if self.lang != "en":
            forms = _catalog(self.lang).plurals.get((singular, plural))
            if forms:
                return forms[min(_vietnamese_plural(n), len(forms) - 1)]
        return (singular, plural)[_english_plural(n)]


async def languages_of(users: UserRepo, user_ids: Iterable[int]) -> dict[int, str]:
    """Each person's language for messages the bot sends on its own (alerts, summaries)."""
    ids = list(dict.fromkeys(user_ids))
    profiles = await users.get_many(ids)
    return {
        user_id: pick_language(
            profiles[user_id].language if user_id in profiles else None,
            profiles[user_id].telegram_language if user_id in profiles else None,
        )
        for user_id in ids
    }


def gettext_for(lang: str) -> Gettext:
    """The `_` of one language; unknown ids fall back to the English id."""
    return Gettext(lang)


def translated_ids(lang: str) -> frozenset[str]:
    """The message ids a language's catalogs translate."""
    return frozenset(_catalog(lang).messages)


def translated_plurals(lang: str) -> frozenset[tuple[str, str]]:
    """The (singular, plural) message ids a language's catalogs translate."""
    return frozenset(_catalog(lang).plurals)


def format_number(value: float, lang: str) -> str:
    """A number with the language's separators: 605.000 in Vietnamese, 605,000 in English."""
    locale = "vi_VN" if lang == "vi" else "en_US"
    return format_decimal(value, locale=locale, format="#,##0.#")


def format_signed(value: float, lang: str) -> str:
    """A change with its sign: +1.136 / -42."""
    sign = "+" if value > 0 else ""
    return sign + format_number(value, lang)
