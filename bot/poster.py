"""Printable A4 check-in posters and bare QR codes for venues."""

from __future__ import annotations

import io
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import segno
from PIL import Image, ImageDraw, ImageFont

PosterFormat = Literal["png", "pdf", "svg"]

DPI = 300
PAGE_WIDTH_PX = 2480  # 210 mm at 300 dpi
PAGE_HEIGHT_PX = 3508  # 297 mm at 300 dpi
MIN_QR_MM = 120
MIN_QR_PX = math.ceil(MIN_QR_MM / 25.4 * DPI)
QUIET_ZONE_MODULES = 4
PREVIEW_WIDTH_PX = PAGE_WIDTH_PX // 2

TITLE = "Quét mã QR để check-in"
SUBTITLE = "Scan to check in"
HINT_VI = "Không quét được? Gửi /checkin {code} cho bot"
HINT_EN = "Can't scan? Send /checkin {code} to the bot"
FOOTER = "QuetMa"

_FONT_DIR = Path(__file__).resolve().parent / "fonts"
_REGULAR = _FONT_DIR / "DejaVuSans.ttf"
_BOLD = _FONT_DIR / "DejaVuSans-Bold.ttf"

_BLACK = 0
_DARK_GREY = 70  # still black once thresholded for the 1-bit PDF
_WHITE = 255
_ELLIPSIS = "…"

# Vietnamese capitals with stacked marks (Ể, Ẫ) rise about 0.17 em above the
# font's ascender, so lines reserve more room above the baseline than usual.
_ABOVE_BASELINE_EM = 1.14
_LINE_ADVANCE_EM = 1.42


def _mm(value: float) -> int:
    """Convert millimetres to pixels at the poster resolution."""
    return round(value / 25.4 * DPI)


def _pt(value: float) -> int:
    """Convert typographic points to pixels at the poster resolution."""
    return round(value / 72 * DPI)


_FRAME_INSET_PX = _mm(6)
_FRAME_WIDTH_PX = _mm(0.6)
_MARGIN_PX = _mm(12)
_CONTENT_WIDTH_PX = PAGE_WIDTH_PX - 2 * _MARGIN_PX


@dataclass(frozen=True)
class PosterCard:
    """What a venue's poster shows."""

    name: str
    address: str
    code: str
    link: str
    region: str = ""

    def __post_init__(self) -> None:
        """Reject cards that would print an unusable poster."""
        if not self.link.strip():
            raise ValueError("poster link must not be empty")
        if not self.code.strip():
            raise ValueError("poster code must not be empty")


@dataclass(frozen=True)
class _Line:
    """One centred line of text, ready to draw."""

    text: str
    font: ImageFont.FreeTypeFont
    fill: int

    @property
    def height(self) -> int:
        """Vertical space the line takes, including leading."""
        return round(self.font.size * _LINE_ADVANCE_EM)


@lru_cache(maxsize=64)
def _font(path: Path, size_px: int) -> ImageFont.FreeTypeFont:
    """Load one bundled font at one pixel size."""
    # Basic layout keeps output identical with or without libraqm; text is
    # NFC-composed first, so Vietnamese needs no complex shaping.
    return ImageFont.truetype(str(path), size_px, layout_engine=ImageFont.Layout.BASIC)


def _clean(text: str) -> str:
    """Compose diacritics and collapse whitespace so every line measures true."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def _longest_prefix(word: str, font: ImageFont.FreeTypeFont, max_width: int) -> int:
    """Count the leading characters of a word that fit the width (at least one)."""
    low, high = 1, len(word)
    while low < high:
        middle = (low + high + 1) // 2
        if font.getlength(word[:middle]) <= max_width:
            low = middle
        else:
            high = middle - 1
    return low


def _ellipsize(text: str, font: ImageFont.FreeTypeFont, max_width: int) -> str:
    """Cut text from the end until it fits the width with an ellipsis."""
    text = text.rstrip()
    while text and font.getlength(text + _ELLIPSIS) > max_width:
        text = text[:-1].rstrip()
    return text + _ELLIPSIS


def _wrap(text: str, font: ImageFont.FreeTypeFont, max_width: int, max_lines: int) -> tuple[list[str], bool]:
    """Greedily wrap text into lines; say whether it had to be cut short."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if font.getlength(candidate) <= max_width:
            current = candidate
            continue
        if current:
            lines.append(current)
        while font.getlength(word) > max_width:
            cut = _longest_prefix(word, font, max_width)
            lines.append(word[:cut])
            word = word[cut:]
        current = word
        if len(lines) > max_lines:
            break
    if current:
        lines.append(current)
    if len(lines) <= max_lines:
        return lines, False
    kept = lines[:max_lines]
    kept[-1] = _ellipsize(kept[-1], font, max_width)
    return kept, True


def _fit(
    text: str,
    font_path: Path,
    *,
    largest_pt: float,
    smallest_pt: float,
    max_lines: int,
    fill: int,
) -> list[_Line]:
    """Wrap text at the largest size that fits; at the smallest size, ellipsize."""
    text = _clean(text)
    if not text:
        return []
    size = _pt(largest_pt)
    smallest = _pt(smallest_pt)
    while True:
        font = _font(font_path, size)
        lines, truncated = _wrap(text, font, _CONTENT_WIDTH_PX, max_lines)
        if not truncated or size <= smallest:
            return [_Line(line, font, fill) for line in lines]
        size = max(smallest, size - _pt(1))


def _draw_lines(draw: ImageDraw.ImageDraw, lines: Sequence[_Line], top: int) -> int:
    """Draw lines centred on the page from top; return the y below them."""
    y = top
    for line in lines:
        baseline = y + round(line.font.size * _ABOVE_BASELINE_EM)
        draw.text(
            (PAGE_WIDTH_PX // 2, baseline),
            line.text,
            font=line.font,
            fill=line.fill,
            anchor="ms",
        )
        y += line.height
    return y


def _lines_height(lines: Sequence[_Line]) -> int:
    """Total height of a run of lines."""
    return sum(line.height for line in lines)


@dataclass(frozen=True)
class _CodeBadge:
    """The short venue code, one character per fixed-width cell, in a box."""

    code: str
    font: ImageFont.FreeTypeFont
    cell: int
    padding: int
    top: int  # glyph extent above the baseline (negative)
    bottom: int  # glyph extent below the baseline

    @classmethod
    def fit(cls, code: str, largest_pt: float) -> _CodeBadge:
        """Pick the largest size at which the spaced-out code fits the page."""
        code = _clean(code)
        size = _pt(largest_pt)
        while True:
            font = _font(_BOLD, size)
            widest = max(font.getlength(char) for char in set(code) | {"M"})
            cell = round(widest * 1.35)
            padding = round(size * 0.35)
            if len(code) * cell + 2 * padding <= _CONTENT_WIDTH_PX or size <= _pt(12):
                _, top, _, bottom = font.getbbox(code + "H", anchor="ls")
                return cls(code, font, cell, padding, round(top), round(bottom))
            size -= _pt(2)

    @property
    def height(self) -> int:
        """Height of the boxed badge."""
        return self.bottom - self.top + 2 * self.padding

    def draw(self, draw: ImageDraw.ImageDraw, top: int) -> int:
        """Draw the badge centred from top; return the y below it."""
        width = len(self.code) * self.cell + 2 * self.padding
        left = (PAGE_WIDTH_PX - width) // 2
        draw.rounded_rectangle(
            (left, top, left + width, top + self.height),
            radius=self.padding,
            outline=_BLACK,
            width=_mm(0.5),
        )
        baseline = top + self.padding - self.top
        for index, char in enumerate(self.code):
            centre = left + self.padding + index * self.cell + self.cell // 2
            draw.text((centre, baseline), char, font=self.font, fill=_BLACK, anchor="ms")
        return top + self.height


@dataclass(frozen=True)
class _Style:
    """Type sizes in points (largest, smallest) and gaps for one density of poster."""

    title_pt: float
    subtitle_pt: float
    name_pt: tuple[float, float]
    address_pt: tuple[float, float]
    address_lines: int
    region_pt: tuple[float, float]
    code_pt: float
    hint_pt: float
    rule_gap_mm: float


# Most venues get the roomy style; a long name and address next to a long link
# fall back to the compact one rather than printing the QR code under 12 cm.
_STYLES = (
    _Style(
        title_pt=30,
        subtitle_pt=18,
        name_pt=(26, 16),
        address_pt=(14, 11),
        address_lines=3,
        region_pt=(12, 10),
        code_pt=36,
        hint_pt=12,
        rule_gap_mm=4,
    ),
    _Style(
        title_pt=24,
        subtitle_pt=14,
        name_pt=(20, 13),
        address_pt=(12, 10),
        address_lines=2,
        region_pt=(10, 9),
        code_pt=28,
        hint_pt=10,
        rule_gap_mm=3,
    ),
)

_HINT_GAP_PX = _mm(3)
_FOOTER_GAP_PX = _mm(6)


@dataclass(frozen=True)
class _Layout:
    """Everything placed on the page, with the QR module size that fits."""

    header: tuple[_Line, ...]
    venue: tuple[_Line, ...]
    badge: _CodeBadge
    hints: tuple[_Line, ...]
    footer: tuple[_Line, ...]
    rule_gap: int
    scale: int  # pixels per QR module
    spare: int  # leftover height, shared out around the code block


def _layout(card: PosterCard, modules: int, style: _Style) -> _Layout:
    """Set the text in one style and size the QR code to the height left."""
    header = (
        *_fit(
            TITLE,
            _BOLD,
            largest_pt=style.title_pt,
            smallest_pt=style.title_pt * 0.6,
            max_lines=1,
            fill=_BLACK,
        ),
        *_fit(
            SUBTITLE,
            _REGULAR,
            largest_pt=style.subtitle_pt,
            smallest_pt=style.subtitle_pt * 0.6,
            max_lines=1,
            fill=_DARK_GREY,
        ),
    )
    venue = (
        *_fit(
            card.name,
            _BOLD,
            largest_pt=style.name_pt[0],
            smallest_pt=style.name_pt[1],
            max_lines=2,
            fill=_BLACK,
        ),
        *_fit(
            card.address,
            _REGULAR,
            largest_pt=style.address_pt[0],
            smallest_pt=style.address_pt[1],
            max_lines=style.address_lines,
            fill=_BLACK,
        ),
        *_fit(
            card.region,
            _REGULAR,
            largest_pt=style.region_pt[0],
            smallest_pt=style.region_pt[1],
            max_lines=1,
            fill=_DARK_GREY,
        ),
    )
    badge = _CodeBadge.fit(card.code, style.code_pt)
    hints = (
        *_fit(
            HINT_VI.format(code=badge.code),
            _REGULAR,
            largest_pt=style.hint_pt,
            smallest_pt=7,
            max_lines=1,
            fill=_BLACK,
        ),
        *_fit(
            HINT_EN.format(code=badge.code),
            _REGULAR,
            largest_pt=style.hint_pt,
            smallest_pt=7,
            max_lines=1,
            fill=_DARK_GREY,
        ),
    )
    footer = tuple(_fit(FOOTER, _BOLD, largest_pt=10, smallest_pt=10, max_lines=1, fill=_DARK_GREY))
    rule_gap = _mm(style.rule_gap_mm)

    top_end = _MARGIN_PX + _lines_height(header) + 2 * rule_gap + _lines_height(venue)
    bottom_height = badge.height + _HINT_GAP_PX + _lines_height(hints)
    footer_top = PAGE_HEIGHT_PX - _MARGIN_PX - _lines_height(footer)
    room = footer_top - _FOOTER_GAP_PX - top_end - bottom_height
    with_quiet_zone = modules + 2 * QUIET_ZONE_MODULES
    scale = min(room, PAGE_WIDTH_PX - 2 * _FRAME_INSET_PX) // with_quiet_zone
    return _Layout(
        header=header,
        venue=venue,
        badge=badge,
        hints=hints,
        footer=footer,
        rule_gap=rule_gap,
        scale=scale,
        spare=room - with_quiet_zone * scale,
    )


def _fitting_layout(card: PosterCard, modules: int) -> _Layout:
    """Use the roomiest style that still prints the QR code at least 12 cm wide."""
    for style in _STYLES:
        layout = _layout(card, modules, style)
        if modules * layout.scale >= MIN_QR_PX:
            return layout
    raise ValueError(f"link is too long to print its QR code {MIN_QR_MM} mm wide")


def _qr_code(link: str) -> segno.QRCode:
    """Encode the link as a regular QR code with at least medium error correction."""
    # boost_error (segno's default) raises the level above M when it costs no
    # extra modules, so the printed code tolerates more dirt and glare.
    try:
        return segno.make_qr(link, error="m")
    except segno.DataOverflowError as error:
        raise ValueError("link is too long to encode as a QR code") from error


def _qr_image(qr: segno.QRCode, scale: int) -> Image.Image:
    """Rasterise the code without its quiet zone, one module per scale pixels."""
    size = len(qr.matrix)
    pixels = bytes(_BLACK if dark else _WHITE for row in qr.matrix_iter(scale=1, border=0) for dark in row)
    modules = Image.frombytes("L", (size, size), pixels)
    return modules.resize((size * scale, size * scale), Image.Resampling.NEAREST)


def _render_page(card: PosterCard) -> Image.Image:
    """Lay out and draw the poster as a greyscale page at 300 dpi."""
    qr = _qr_code(card.link)
    layout = _fitting_layout(card, len(qr.matrix))  # modules per side, without quiet zone
    page = Image.new("L", (PAGE_WIDTH_PX, PAGE_HEIGHT_PX), _WHITE)
    draw = ImageDraw.Draw(page)
    draw.rounded_rectangle(
        (
            _FRAME_INSET_PX,
            _FRAME_INSET_PX,
            PAGE_WIDTH_PX - 1 - _FRAME_INSET_PX,
            PAGE_HEIGHT_PX - 1 - _FRAME_INSET_PX,
        ),
        radius=_mm(4),
        outline=_DARK_GREY,
        width=_FRAME_WIDTH_PX,
    )

    y = _draw_lines(draw, layout.header, _MARGIN_PX) + layout.rule_gap
    draw.line(
        (PAGE_WIDTH_PX // 2 - _mm(20), y, PAGE_WIDTH_PX // 2 + _mm(20), y),
        fill=_BLACK,
        width=_mm(0.5),
    )
    y = _draw_lines(draw, layout.venue, y + layout.rule_gap)

    # Spare height goes half above the code and half below the hints, so the
    # code block stays centred between the venue details and the footer.
    quiet_zone = QUIET_ZONE_MODULES * layout.scale
    y += layout.spare // 2 + quiet_zone
    qr_image = _qr_image(qr, layout.scale)
    page.paste(qr_image, ((PAGE_WIDTH_PX - qr_image.width) // 2, y))
    y += qr_image.height + quiet_zone

    y = layout.badge.draw(draw, y) + _HINT_GAP_PX
    _draw_lines(draw, layout.hints, y)
    _draw_lines(draw, layout.footer, PAGE_HEIGHT_PX - _MARGIN_PX - _lines_height(layout.footer))
    return page


def _png_bytes(page: Image.Image, dpi: int) -> bytes:
    """Encode a greyscale page as a 16-grey palette PNG, small enough for Telegram."""
    levels = page.point([(value + 8) // 17 for value in range(256)])
    indexed = Image.frombytes("P", page.size, levels.tobytes())
    indexed.putpalette(bytes(channel for level in range(16) for channel in (level * 17,) * 3))
    buffer = io.BytesIO()
    indexed.save(buffer, "PNG", optimize=True, bits=4, dpi=(dpi, dpi))
    return buffer.getvalue()


def _pdf_bytes(page: Image.Image) -> bytes:
    """Encode the page as a one-page A4 PDF with a lossless 1-bit image."""
    # Pillow stores "L" images in PDFs as JPEG; a thresholded 1-bit image is
    # stored with CCITT G4 instead, which keeps the QR edges exact.
    bilevel = page.convert("1", dither=Image.Dither.NONE)
    buffer = io.BytesIO()
    bilevel.save(buffer, "PDF", resolution=DPI)
    return buffer.getvalue()


def render_poster(card: PosterCard, fmt: Literal["png", "pdf"]) -> bytes:
    """Render the printable A4 poster (300 dpi) as PNG or PDF bytes."""
    if fmt not in ("png", "pdf"):
        raise ValueError(f"posters render as png or pdf, not {fmt!r}")
    page = _render_page(card)
    return _png_bytes(page, DPI) if fmt == "png" else _pdf_bytes(page)


def render_poster_preview_png(card: PosterCard) -> bytes:
    """Render the poster at half resolution (1240 px wide) for sending as a photo."""
    page = _render_page(card).reduce(PAGE_WIDTH_PX // PREVIEW_WIDTH_PX)
    return _png_bytes(page, DPI * PREVIEW_WIDTH_PX // PAGE_WIDTH_PX)


def render_qr_svg(link: str) -> bytes:
    """Render only the QR code for the link as a standalone SVG with its quiet zone."""
    if not link.strip():
        raise ValueError("QR link must not be empty")
    buffer = io.BytesIO()
    _qr_code(link).save(buffer, kind="svg", scale=10, border=QUIET_ZONE_MODULES, xmldecl=True)
    return buffer.getvalue()


def poster_format_for(path: str) -> PosterFormat:
    """Choose the output format from a file name's extension."""
    suffix = Path(path).suffix.lower()
    if suffix == ".png":
        return "png"
    if suffix == ".pdf":
        return "pdf"
    if suffix == ".svg":
        return "svg"
    raise ValueError(f"unsupported poster file type {suffix or path!r}; use .png, .pdf or .svg")
