"""Configuration errors name the variable; payloads are signed, short and tamper-proof."""

from __future__ import annotations

from datetime import time

import pytest

from bot.app.settings import ConfigError, Settings
from bot.payload import (
    PAYLOAD_MAX,
    PAYLOAD_SHAPE,
    BadPayload,
    PayloadKind,
    deep_link,
    new_venue_code,
    normalize_code,
    sign_payload,
    verify_payload,
)

SECRET = b"k" * 32


def build(**env: str) -> Settings:
    return Settings.from_env(_env_file=None, **env)


@pytest.mark.parametrize(
    ("field", "value", "variable"),
    [
        ("tz_name", "Mars/Olympus", "QUETMA_TZ"),
        ("mongodb_uri", "localhost:27017", "MONGODB_URI"),
        ("bot_token", "not-a-token", "BOT_TOKEN"),
        ("retention_days", "0", "QUETMA_RETENTION_DAYS"),
        ("admins", "12,abc", "QUETMA_ADMINS"),
        ("webhook_secret", "bad secret!", "WEBHOOK_SECRET"),
        ("telegram_api_url", "ftp://x", "TELEGRAM_API_URL"),
    ],
)
def test_bad_configuration_is_one_line_naming_the_variable(field: str, value: str, variable: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build(**{field: value})
    message = str(caught.value)
    assert message.startswith(f"{variable}: ")
    assert "\n" not in message
    if field == "bot_token":
        assert value not in message


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUETMA_TZ", "Asia/Bangkok")
    monkeypatch.setenv("QUETMA_ADMINS", "11, 22")
    monkeypatch.setenv("QUETMA_OFFICIAL_SUMMARY_AT", "06:30")
    monkeypatch.setenv("BOT_TOKEN", "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0")
    settings = Settings.from_env(_env_file=None)
    assert settings.tz.key == "Asia/Bangkok"
    assert settings.admins == frozenset({11, 22})
    assert settings.official_summary_at == time(6, 30)
    assert "AAHdq" not in repr(settings)  # secrets never print
    assert settings.use_embedded


def test_defaults() -> None:
    settings = build()
    assert (settings.db_name, settings.tz_name, settings.retention_days) == ("quetma", "Asia/Ho_Chi_Minh", 21)
    assert settings.telegram_api_url == "https://api.telegram.org"


def test_payload_round_trip_fits_telegram_rules() -> None:
    code = new_venue_code()
    payload = sign_payload(SECRET, PayloadKind.CHECKIN, code)
    assert len(payload) <= PAYLOAD_MAX and PAYLOAD_SHAPE.match(payload)
    verified = verify_payload(SECRET, payload)
    assert (verified.kind, verified.body) == (PayloadKind.CHECKIN, code)
    assert deep_link("quetma_bot", payload) == f"https://t.me/quetma_bot?start={payload}"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda p: p[:-1],  # truncated
        lambda p: p[:-1] + ("A" if p[-1] != "A" else "B"),  # altered signature
        lambda p: p.replace("c-", "s-", 1),  # another kind, same signature
        lambda p: p.split("-")[0] + "-ZZZZZZZZ-" + p.split("-")[2],  # another venue, same signature
        lambda p: p + "x" * 70,  # too long
        lambda p: "",
        lambda p: "c--",
    ],
)
def test_tampered_payloads_are_refused(mutate: object) -> None:
    payload = sign_payload(SECRET, PayloadKind.CHECKIN, "ABCDEFGH")
    with pytest.raises(BadPayload):
        verify_payload(SECRET, mutate(payload))  # type: ignore[operator]


def test_every_signature_verifies_whatever_characters_the_mac_has() -> None:
    for _ in range(500):
        code = new_venue_code()
        assert verify_payload(SECRET, sign_payload(SECRET, PayloadKind.CHECKIN, code)).body == code


def test_another_secret_does_not_verify() -> None:
    payload = sign_payload(SECRET, PayloadKind.CHECKIN, "ABCDEFGH")
    with pytest.raises(BadPayload):
        verify_payload(b"other", payload)


def test_typed_codes_are_normalised() -> None:
    assert normalize_code("abcd efgh") == "ABCDEFGH"
    assert normalize_code("ABCD-EFGH") == "ABCDEFGH"
    assert normalize_code("ABCDEFG0") is None  # 0 is not in the alphabet
    assert normalize_code("short") is None
