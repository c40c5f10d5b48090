"""Translations from gettext catalogs (Babel `.po` files), Vietnamese by default.

Message ids are the English text. Each audience keeps its own catalog file under
`bot/locale/<lang>/LC_MESSAGES/<domain>.po`; all of a language's files are merged.
Mark strings with `_("...")` (translated now) or `N_("...")` (translated later) so
`tests/test_i18n.py` can check every one has a Vietnamese translation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
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

Gettext = Callable[[str], str]


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


@cache
def _catalog(lang: str) -> dict[str, str]:
    messages: dict[str, str] = {}
    folder = LOCALE_DIR / lang / "LC_MESSAGES"
    for po in sorted(folder.glob("*.po")) if folder.is_dir() else []:
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=lang)
        for message in catalog:
            if message.id and isinstance(message.id, str) and message.string and not message.fuzzy:
                messages[message.id] = str(message.string)
    return messages


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
    """A `_` function for one language; unknown ids fall back to the English id."""
    catalog = _catalog(lang) if lang != "en" else {}

    def _(message: str) -> str:
        return catalog.get(message, message)

    return _


def translated_ids(lang: str) -> frozenset[str]:
    """The message ids a language's catalogs translate."""
    return frozenset(_catalog(lang))


def format_number(value: float, lang: str) -> str:
    """A number with the language's separators: 605.000 in Vietnamese, 605,000 in English."""
    locale = "vi_VN" if lang == "vi" else "en_US"
    return format_decimal(value, locale=locale, format="#,##0.#")


def format_signed(value: float, lang: str) -> str:
    """A change with its sign: +1.136 / -42."""
    sign = "+" if value > 0 else ""
    return sign + format_number(value, lang)
