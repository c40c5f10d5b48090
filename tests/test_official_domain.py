"""The officials' domain rules without Telegram: time windows, durations, CSV escaping, oversized files."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.officials import (
    BadInput,
    build_csv,
    csv_cell,
    fit_document,
    parse_duration,
    parse_venue_window,
    parse_window,
    phone_cell,
)
from bot.officials.confirmations import sign_action, verify_action
from bot.officials.windows import parse_count, read_day, split_leading_day

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 19, 5, 0, tzinfo=UTC)  # 12:00 in Hanoi


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-19 08:00 2026-11-19 10:30",
        "2026-11-19T08:00 2026-11-19T10:30",
        "2026-11-19 08:00 10:30",
        "2026-11-19T8:00   10:30",
        "19/11/2026 08:00 19/11/2026 10:30",
        '"2026-11-19 08:00" "2026-11-19 10:30"',
        "“19/11/2026 08:00” 10:30",
        "19 Nov 2026 08:00 19 November 2026 10:30",
        "hôm nay 08:00 10:30",
        "HÔM NAY 08:00 hôm nay 10:30",
        "today 08:00 today 10:30",
    ],
)
def test_windows_are_local_times(text: str) -> None:
    window = parse_window(text, TZ, now=NOW, command="trace")
    assert window.start == datetime(2026, 11, 19, 1, 0, tzinfo=UTC)
    assert window.end == datetime(2026, 11, 19, 3, 30, tzinfo=UTC)
    assert window.local(TZ) == "19/11/2026 08:00 – 19/11/2026 10:30"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-11-19 08:00", "YYYY-MM-DD HH:MM"),
        ("19/11 08:00 19/11 09:00", "YYYY-MM-DD HH:MM"),
        ("0001-01-01 00:00 0001-01-01 01:00", "YYYY-MM-DD HH:MM"),
        ("2026-11-19 25:00 2026-11-19 26:00", "YYYY-MM-DD HH:MM"),
        ("2026-02-30 08:00 2026-02-30 09:00", "YYYY-MM-DD HH:MM"),
        ("2026-11-19 10:00 2026-11-19 10:00", "after its start"),
        ("2026-10-01 10:00 2026-11-19 10:00", "31 days"),
        ("2026-11-19 12:01 2026-11-19 13:00", "future"),
    ],
)
def test_bad_windows_are_explained(text: str, message: str) -> None:
    with pytest.raises(BadInput) as caught:
        parse_window(text, TZ, now=NOW, command="exposure")
    assert message in caught.value.text(lambda m: m).replace("{command}", "exposure")


def test_venue_code_and_window_together() -> None:
    code, window = parse_venue_window(
        ["k7q2-xh4m", "2026-11-19", "08:00", "09:00"], TZ, now=NOW, command="trace"
    )
    assert code == "K7Q2XH4M" and window.end - window.start == timedelta(hours=1)
    with pytest.raises(BadInput):
        parse_venue_window(["OOOOOOOO", "2026-11-19", "08:00", "09:00"], TZ, now=NOW, command="trace")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("72h", timedelta(hours=72)),
        ("3d", timedelta(days=3)),
        ("90m", timedelta(minutes=90)),
        (" 2H ", timedelta(hours=2)),
    ],
)
def test_invite_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "72", "3w", "0m", "31d", "-1h", "1.5h"])
def test_bad_invite_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=SUM(A1:A9)", "'=SUM(A1:A9)"),
        ("+84912345678", "'+84912345678"),
        ("-2+3", "'-2+3"),
        ("@cmd", "'@cmd"),
        ("\t=1", "'\t=1"),
        ("\u200d=cmd", "'\u200d=cmd"),
        (" \u200b\u202e@SUM(1)", "' \u200b\u202e@SUM(1)"),
        ("\u00a0+1", "'\u00a0+1"),
        ("＝1+1", "'＝1+1"),
        (" Quán", " Quán"),
        ("Quán = ngon", "Quán = ngon"),
        (None, ""),
        (3, "3"),
    ],
)
def test_csv_cells_cannot_start_a_formula(value: object, cell: str) -> None:
    assert csv_cell(value) == cell


def test_csv_is_utf8_with_a_byte_order_mark_and_escapes_every_row() -> None:
    data = build_csv(["Tên", "=Header"], [["Phở Thìn", "=1+1"], ['He said "hi", then left', "@x"]])
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [["Tên", "'=Header"], ["Phở Thìn", "'=1+1"], ['He said "hi", then left', "'@x"]]


def test_phone_numbers_are_exported_exactly_as_shared() -> None:
    rows = [[phone_cell(phone)] for phone in ("0912345678", "+84912345678", "+84 912 345 678", "=1+1", None)]
    data = build_csv(["Phone"], rows)
    assert list(csv.reader(io.StringIO(data.decode("utf-8-sig")))) == [
        ["Phone"],
        ["0912345678"],
        ["+84912345678"],
        ["+84 912 345 678"],
        ["'=1+1"],
        [""],
    ]


def test_big_documents_go_out_zipped() -> None:
    small = fit_document("a.csv", b"x" * 10, limit=100)
    assert small == ("a.csv", b"x" * 10)
    name, content = fit_document("a.csv", b"code,name\r\n" * 1000, limit=100)
    assert name == "a.csv.zip"
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert archive.namelist() == ["a.csv"]
        assert archive.read("a.csv") == b"code,name\r\n" * 1000


TODAY = date(2026, 11, 19)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-25", date(2026, 11, 25)),
        ("25/11/2026", date(2026, 11, 25)),
        ('"25/11/2026"', date(2026, 11, 25)),
        ("3 Dec 2026", date(2026, 12, 3)),
        ("3 december 2026", date(2026, 12, 3)),
        ("hôm nay", TODAY),
        ("Hôm qua", TODAY - timedelta(days=1)),
        ("ho\u0302m qua", TODAY - timedelta(days=1)),  # decomposed, as some keyboards send it
        ("today", TODAY),
        ("yesterday", TODAY - timedelta(days=1)),
    ],
)
def test_days_are_read_as_people_type_them(text: str, expected: date) -> None:
    assert read_day(text, TODAY) == expected


@pytest.mark.parametrize(
    "text", ["2026-13-01", "31/02/2026", "3 Decx 2026", "12/11", "²⁰²⁶-11-19", "Ba Đình"]
)
def test_what_is_not_a_day_is_not_read_as_one(text: str) -> None:
    assert read_day(text, TODAY) is None


def test_a_leading_day_is_split_from_the_place() -> None:
    assert split_leading_day(["25/11/2026", "Ba", "Đình"], TODAY) == (date(2026, 11, 25), ["Ba", "Đình"])
    assert split_leading_day(["3", "Dec", "2026"], TODAY) == (date(2026, 12, 3), [])
    assert split_leading_day(["hôm", "qua", "Hà", "Nội"], TODAY) == (date(2026, 11, 18), ["Hà", "Nội"])
    assert split_leading_day(["Hà", "Nội"], TODAY) == (None, ["Hà", "Nội"])
    with pytest.raises(BadInput):
        split_leading_day(["2026-13-01"], TODAY)


@pytest.mark.parametrize("text", ["²", "¹⁰", "٣", "7"])
def test_counts_are_ascii_digits_only(text: str) -> None:
    assert parse_count(text) == (7 if text == "7" else None)


def test_signed_actions_verify_only_unaltered_and_for_the_same_person() -> None:
    secret = b"k" * 32
    data = sign_action(secret, 6001, "off:exp:", "K7Q2XH4M", "1763517600", "1763521200")
    assert len(data.encode()) <= 64
    assert verify_action(secret, 6001, "off:exp:", data, fields=3) == ("K7Q2XH4M", "1763517600", "1763521200")
    assert verify_action(secret, 6002, "off:exp:", data, fields=3) is None
    assert verify_action(b"x" * 32, 6001, "off:exp:", data, fields=3) is None
    assert verify_action(secret, 6001, "off:exp:", data.replace("1763521200", "1763524800"), fields=3) is None
    assert verify_action(secret, 6001, "off:exp:", data, fields=2) is None
    assert verify_action(secret, 6001, "off:rev:", data, fields=3) is None
    with pytest.raises(ValueError):
        sign_action(secret, 6001, "off:exp:", "a:b")


def test_long_input_is_refused_quickly() -> None:
    with pytest.raises(BadInput):
        parse_window("2026-11-19 " * 400 + "08:00 " + "x " * 1000, TZ, now=NOW, command="trace")
    assert read_day("1 " * 2000, TODAY) is None
