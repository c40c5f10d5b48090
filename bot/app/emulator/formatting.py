"""What Telegram's parsers accept: HTML and MarkdownV2 text, and the length limits after parsing.

Telegram refuses a message whose formatting it cannot parse with 400 "can't parse entities", and
counts the limits (4096 for texts, 1024 for captions) on the text that remains after parsing.
"""

from __future__ import annotations

import re
from html import escape
from html.parser import HTMLParser

MAX_TEXT = 4096
MAX_CAPTION = 1024

# The tags the Bot API's HTML parse mode knows (https://core.telegram.org/bots/api#html-style).
HTML_TAGS = frozenset(
    {
        "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
        "a", "code", "pre", "blockquote", "tg-emoji",
    }
)  # fmt: skip
# MarkdownV2: these characters must be escaped with a backslash outside of entities.
_MARKDOWN_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")


_UNCLOSED_TAG = re.compile(r"<(?![^<>]*>)")


class FormattingError(ValueError):
    """Telegram would answer 400 with this description."""


class _TelegramHtml(HTMLParser):
    """Collects the visible text and checks that every tag is known and closed in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.visible: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in HTML_TAGS:
            raise FormattingError(f'Bad Request: can\'t parse entities: Unsupported start tag "{tag}"')
        if tag == "a" and not dict(attrs).get("href"):
            raise FormattingError("Bad Request: can't parse entities: empty href in a tag")
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            raise FormattingError(f'Bad Request: can\'t parse entities: Unmatched end tag "{tag}"')
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.visible.append(data)


def visible_html(text: str) -> str:
    """The text a user sees from an HTML-formatted message, or FormattingError."""
    # Telegram requires "<" that starts no tag to be escaped; html.parser would keep it as text.
    if _UNCLOSED_TAG.search(text):
        raise FormattingError("Bad Request: can't parse entities: Unclosed start tag")
    parser = _TelegramHtml()
    parser.feed(text)
    parser.close()
    if parser.rawdata:
        raise FormattingError("Bad Request: can't parse entities: unexpected end of tag")
    if parser.open:
        raise FormattingError(
            "Bad Request: can't parse entities: Can't find end tag corresponding to start tag "
            f'"{parser.open[-1]}"'
        )
    return "".join(parser.visible)


def visible_markdown_v2(text: str) -> str:
    """The visible text of MarkdownV2: paired * _ ~ ` markers, reserved characters escaped."""
    out: list[str] = []
    open_markers: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            out.append(text[index + 1])
            index += 2
            continue
        if char in "*_~`|":
            marker = "||" if text.startswith("||", index) else char
            if open_markers and open_markers[-1] == marker:
                open_markers.pop()
            else:
                open_markers.append(marker)
            index += len(marker)
            continue
        if char in _MARKDOWN_RESERVED:
            raise FormattingError(
                f"Bad Request: can't parse entities: Character '{char}' is reserved and must be "
                "escaped with the preceding '\\'"
            )
        out.append(char)
        index += 1
    if open_markers:
        raise FormattingError(
            "Bad Request: can't parse entities: Can't find end of the entity starting at byte offset"
        )
    return "".join(out)


def visible_text(text: str, parse_mode: object) -> str:
    """The text after parsing with `parse_mode` (None: the text itself)."""
    if parse_mode is None or parse_mode == "":
        return text
    mode = str(parse_mode).lower()
    if mode == "html":
        return visible_html(text)
    if mode == "markdownv2":
        return visible_markdown_v2(text)
    if mode == "markdown":
        return text.replace("*", "").replace("_", "").replace("`", "")
    raise FormattingError(f"Bad Request: unsupported parse_mode {parse_mode}")


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def check_text(text: str, parse_mode: object) -> None:
    """Raise FormattingError where Telegram refuses a message text."""
    if _utf16_length(visible_text(text, parse_mode)) > MAX_TEXT:
        raise FormattingError("Bad Request: message is too long")


def check_caption(caption: str, parse_mode: object) -> None:
    """Raise FormattingError where Telegram refuses a media caption."""
    if _utf16_length(visible_text(caption, parse_mode)) > MAX_CAPTION:
        raise FormattingError("Bad Request: message caption is too long")


_SAFE_TAGS = {"b": "b", "strong": "b", "i": "i", "em": "i", "u": "u", "ins": "u", "s": "s", "strike": "s",
              "del": "s", "code": "code", "pre": "pre", "blockquote": "blockquote", "a": "a"}  # fmt: skip


class _SafeHtml(_TelegramHtml):
    """Re-emits Telegram HTML with only inert tags, every text escaped and only http(s) links."""

    def __init__(self) -> None:
        super().__init__()
        self.out: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        super().handle_starttag(tag, attrs)
        safe = _SAFE_TAGS.get(tag)
        if safe == "a":
            href = dict(attrs).get("href") or ""
            if href.startswith(("https://", "http://")):
                self.out.append(f'<a href="{escape(href, quote=True)}" target="_blank" rel="noopener">')
            else:
                self.out.append("<a>")
        elif safe is not None:
            self.out.append(f"<{safe}>")

    def handle_endtag(self, tag: str) -> None:
        super().handle_endtag(tag)
        safe = _SAFE_TAGS.get(tag)
        if safe is not None:
            self.out.append(f"</{safe}>")

    def handle_data(self, data: str) -> None:
        super().handle_data(data)
        self.out.append(escape(data))


def safe_html(text: str, parse_mode: str) -> str:
    """HTML a web page may insert as is: Telegram HTML rebuilt from a whitelist, anything else escaped."""
    if parse_mode.lower() != "html":
        return escape(visible_text(text, parse_mode))
    visible_html(text)  # refuses what Telegram would refuse
    parser = _SafeHtml()
    parser.feed(text)
    parser.close()
    return "".join(parser.out)
