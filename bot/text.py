"""Text people type or Telegram hands over, made fit to store, print and export.

Every user-supplied string that is kept (display names, venue names, addresses) goes through
`plain_text`: whatever a person cannot see or that changes how text around it is shown (control
characters, tabs and newlines, bidirectional overrides, zero-width characters, lone surrogates)
is taken out, and runs of spaces become one. The zero-width joiner is kept only inside an emoji
sequence (👩‍⚕️), where it is part of what people see.
"""

from __future__ import annotations

import unicodedata

ZWJ = "\u200d"
# Line breaks and controls become a space, so "An\nNguyễn" stays two words.
_AS_SPACE = frozenset({"Cc", "Zl", "Zp"})
# Invisible format characters (bidi overrides, zero-width space, BOM, ...) and lone surrogates go.
_DROPPED = frozenset({"Cf", "Cs"})
# What may stand before a joiner in an emoji sequence: an emoji, a skin tone, a variation selector.
_EMOJI_BEFORE = frozenset({"So", "Sk", "Mn"})


def plain_text(raw: str, *, max_length: int | None = None) -> str:
    """`raw` without controls or invisible characters, NFC, single spaces, at most `max_length` long."""
    text = unicodedata.normalize("NFC", raw)
    kept: list[str] = []
    for index, char in enumerate(text):
        category = unicodedata.category(char)
        if category in _AS_SPACE:
            kept.append(" ")
        elif category not in _DROPPED or (char == ZWJ and _joins_emoji(text, index)):
            kept.append(char)
    cleaned = " ".join("".join(kept).split())
    return cleaned if max_length is None else cleaned[:max_length].rstrip()


def _joins_emoji(text: str, index: int) -> bool:
    if index == 0 or index + 1 >= len(text):
        return False
    return (
        unicodedata.category(text[index - 1]) in _EMOJI_BEFORE
        and unicodedata.category(text[index + 1]) == "So"
    )


def invisible(char: str) -> bool:
    """A character a spreadsheet or a reader would not see at the start of a cell: space or format."""
    return char.isspace() or unicodedata.category(char) in {"Cc", "Cf", "Zs", "Zl", "Zp", "Cs"}


# Typed text quoted back in a reply ("No region called …") is cut to this: a reply must stay
# far below Telegram's 4,096 characters whatever was typed.
ECHO_LIMIT = 60


def shortened(text: str, limit: int = ECHO_LIMIT) -> str:
    """`text` as a reply may quote it: at most `limit` characters, an ellipsis where it was cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# Telegram refuses a message longer than 4,096 characters, counted in UTF-16 code units.
MESSAGE_LIMIT = 4096


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def fit_message(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """`text` cut to what Telegram accepts in one message, at a line end when there is one, with "…"."""
    if utf16_length(text) <= limit:
        return text
    cut = text.encode("utf-16-le")[: 2 * (limit - 1)].decode("utf-16-le", errors="ignore")
    line_end = cut.rfind("\n")
    return (cut[:line_end] if line_end > 0 else cut) + "…"
