"""Posters print a scannable, large enough QR code and keep the venue text on the page."""

from __future__ import annotations

import io
import re
import unicodedata
import xml.etree.ElementTree as ET
from typing import Any

import pytest
import zxingcpp
from PIL import Image

from bot.poster import (
    PosterCard,
    poster_format_for,
    render_poster,
    render_poster_preview_png,
    render_qr_svg,
)

LINK = "https://t.me/QuetMaBot?start=v1_6f2a9c0e5b7d_K7Q2XH4M_3Jr9xQ"
# The longest link Telegram allows: a 32-character bot name and a 64-character payload.
LONGEST_LINK = "https://t.me/" + "Q" * 29 + "bot?start=" + "p" * 64
A4_WIDTH_PX, A4_HEIGHT_PX = 2480, 3508
MIN_QR_PX = 1418  # 12 cm at 300 dpi
SVG_NS = "{http://www.w3.org/2000/svg}"

CLINIC = PosterCard(
    name="Phòng khám Nha khoa Đức Thành",
    address="Số 12 ngõ 45 phố Đội Cấn, Ba Đình",
    code="K7Q2XH4M",
    link=LINK,
    region="Phường Ba Đình, Thành phố Hà Nội",
)


def _image(png: bytes) -> Image.Image:
    """Open PNG bytes as a greyscale image."""
    return Image.open(io.BytesIO(png)).convert("L")


def _decode_one(image: Image.Image) -> Any:
    """Decode the page and insist on exactly one QR code."""
    barcodes = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode))
    assert len(barcodes) == 1
    return barcodes[0]


def _rasterise_segno_svg(svg: bytes) -> Image.Image:
    """Draw segno's single-path SVG (absolute M, relative m and h only) at 8 px per module."""
    root = ET.fromstring(svg)  # noqa: S314 - the document comes from our own renderer
    (path,) = root.iter(f"{SVG_NS}path")
    scale = 10
    assert path.get("transform") == f"scale({scale})"
    size = int(root.get("width", "0")) // scale
    modules = Image.new("L", (size, size), 255)
    x = y = 0.0
    for command, first, second in re.findall(r"([MmHh])\s*(-?[\d.]+)(?:\s+(-?[\d.]+))?", path.get("d", "")):
        if command == "M":
            x, y = float(first), float(second)
        elif command == "m":
            x, y = x + float(first), y + float(second)
        elif command == "h":
            for column in range(round(x), round(x + float(first))):
                modules.putpixel((column, int(y)), 0)
            x += float(first)
        else:
            pytest.fail(f"unexpected SVG path command {command!r}")
    return modules.resize((size * 8, size * 8), Image.Resampling.NEAREST)


@pytest.fixture(scope="module")
def poster_png() -> bytes:
    """The clinic's full-resolution poster."""
    return render_poster(CLINIC, "png")


def test_poster_png_is_a4_at_300_dpi_and_its_qr_opens_the_link(poster_png: bytes) -> None:
    image = Image.open(io.BytesIO(poster_png))
    assert image.size == (A4_WIDTH_PX, A4_HEIGHT_PX)
    assert image.info["dpi"] == pytest.approx((300, 300), abs=0.01)
    barcode = _decode_one(image.convert("L"))
    assert barcode.text == LINK
    assert barcode.ec_level in {"M", "Q", "H"}


def test_printed_qr_is_at_least_12_cm_wide_and_centred(poster_png: bytes) -> None:
    position = _decode_one(_image(poster_png)).position
    width = position.top_right.x - position.top_left.x
    height = position.bottom_left.y - position.top_left.y
    assert width >= MIN_QR_PX
    assert height >= MIN_QR_PX
    centre = (position.top_left.x + position.top_right.x) / 2
    assert abs(centre - A4_WIDTH_PX / 2) <= 2


def test_poster_png_is_a_small_palette_image(poster_png: bytes) -> None:
    image = Image.open(io.BytesIO(poster_png))
    assert image.mode == "P"
    assert len(poster_png) < 1_000_000  # Telegram accepts photos up to 10 MB


def test_preview_is_half_size_and_its_qr_opens_the_link() -> None:
    preview = render_poster_preview_png(CLINIC)
    image = Image.open(io.BytesIO(preview))
    assert image.size == (A4_WIDTH_PX // 2, A4_HEIGHT_PX // 2)
    assert image.width + image.height <= 10_000  # Telegram's sendPhoto limit
    assert _decode_one(image.convert("L")).text == LINK


def test_pdf_is_one_a4_page_holding_the_300_dpi_page_image() -> None:
    pdf = render_poster(CLINIC, "pdf")
    assert pdf.startswith(b"%PDF")
    boxes = re.findall(rb"/MediaBox\s*\[\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)
    assert len(boxes) == 1
    left, bottom, right, top = (float(value) for value in boxes[0])
    assert right - left == pytest.approx(595, abs=1)
    assert top - bottom == pytest.approx(842, abs=1)
    assert re.search(rb"/Width\s+2480\b", pdf)
    assert re.search(rb"/Height\s+3508\b", pdf)
    assert b"/DCTDecode" not in pdf  # no JPEG blur on the QR edges


@pytest.mark.parametrize(
    "link",
    # The shortest possible deep link (a 2-version code whose quiet zone takes
    # the most room), a typical one and the longest one.
    ["https://t.me/b?start=1", LINK, LONGEST_LINK],
    ids=["shortest-link", "typical-link", "longest-link"],
)
@pytest.mark.parametrize(
    "name",
    [
        "Bệnh viện Đa khoa Quốc tế Thu Cúc cơ sở Thụy Khuê " * 6,  # 300 characters of words
        "Ể" * 300,  # one unbreakable word with stacked diacritics
    ],
    ids=["many-words", "one-long-word"],
)
def test_long_texts_stay_inside_the_page_and_the_qr_still_prints_12_cm(name: str, link: str) -> None:
    assert len(name) == 300
    card = PosterCard(
        name=name,
        address="Tầng 3, tòa nhà Sông Đà, số 165 đường Cầu Giấy, phường Quan Hoa, " * 5,
        code="K7Q2XH4M",
        link=link,
        region="Phường Ba Đình, Thành phố Hà Nội, " * 5,
    )
    page = _image(render_poster(card, "png"))
    barcode = _decode_one(page)
    assert barcode.text == link
    assert barcode.position.top_right.x - barcode.position.top_left.x >= MIN_QR_PX

    # The decorative frame is drawn 6 mm from the edge; everything else keeps a
    # 12 mm margin, so the bands outside and just inside the frame stay blank.
    def mm(value: float) -> int:
        return round(value / 25.4 * 300)

    bands = [
        (0, 0, A4_WIDTH_PX, mm(5)),
        (0, A4_HEIGHT_PX - mm(5), A4_WIDTH_PX, A4_HEIGHT_PX),
        (0, 0, mm(5), A4_HEIGHT_PX),
        (A4_WIDTH_PX - mm(5), 0, A4_WIDTH_PX, A4_HEIGHT_PX),
        (mm(7.5), mm(11), mm(11.5), A4_HEIGHT_PX - mm(11)),
        (A4_WIDTH_PX - mm(11.5), mm(11), A4_WIDTH_PX - mm(7.5), A4_HEIGHT_PX - mm(11)),
        (mm(11), mm(7.5), A4_WIDTH_PX - mm(11), mm(11.5)),
        (mm(11), A4_HEIGHT_PX - mm(11.5), A4_WIDTH_PX - mm(11), A4_HEIGHT_PX - mm(7.5)),
    ]
    for band in bands:
        assert page.crop(band).getextrema() == (255, 255), band


def test_decomposed_diacritics_render_like_composed_ones() -> None:
    composed = PosterCard(name="Đức Thành", address="Đội Cấn", code="K7Q2XH4M", link=LINK)
    decomposed = PosterCard(
        name=unicodedata.normalize("NFD", composed.name),
        address=unicodedata.normalize("NFD", composed.address),
        code=composed.code,
        link=LINK,
    )
    assert decomposed.name != composed.name
    assert render_poster(decomposed, "png") == render_poster(composed, "png")


def test_a_different_name_changes_the_poster(poster_png: bytes) -> None:
    other = PosterCard(
        name="Nhà thuốc Minh Châu",
        address=CLINIC.address,
        code=CLINIC.code,
        link=CLINIC.link,
        region=CLINIC.region,
    )
    assert render_poster(other, "png") != poster_png


def test_qr_svg_is_wellformed_and_encodes_the_link() -> None:
    svg = render_qr_svg(LINK)
    root = ET.fromstring(svg)  # noqa: S314 - the document comes from our own renderer
    assert root.tag == f"{SVG_NS}svg"
    assert len(list(root.iter(f"{SVG_NS}path"))) == 1
    assert _decode_one(_rasterise_segno_svg(svg)).text == LINK


def test_qr_svg_refuses_an_empty_link() -> None:
    with pytest.raises(ValueError, match="empty"):
        render_qr_svg("")


def test_link_too_long_for_any_qr_code_is_refused() -> None:
    link = "https://t.me/b?start=" + "x" * 3000  # beyond a version-40 QR code's capacity
    card = PosterCard(name="Quán cà phê", address="", code="K7Q2XH4M", link=link)
    with pytest.raises(ValueError, match="too long"):
        render_poster(card, "png")


def test_cards_need_a_link_and_a_code() -> None:
    with pytest.raises(ValueError, match="link"):
        PosterCard(name="Quán cà phê", address="", code="K7Q2XH4M", link=" ")
    with pytest.raises(ValueError, match="code"):
        PosterCard(name="Quán cà phê", address="", code="", link=LINK)


def test_render_poster_refuses_other_formats() -> None:
    with pytest.raises(ValueError, match="png or pdf"):
        render_poster(CLINIC, "svg")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("poster.png", "png"),
        ("out/Phòng khám.PDF", "pdf"),
        ("exports/qr.svg", "svg"),
    ],
)
def test_poster_format_follows_the_extension(path: str, expected: str) -> None:
    assert poster_format_for(path) == expected


@pytest.mark.parametrize("path", ["poster.jpg", "poster", "poster.png.bak", "poster.jpeg"])
def test_poster_format_rejects_other_extensions(path: str) -> None:
    with pytest.raises(ValueError, match="unsupported"):
        poster_format_for(path)
