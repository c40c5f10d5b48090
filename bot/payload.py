"""Deep-link payloads: short venue codes and HMAC-signed `start` parameters."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum

# No 0/O, 1/I/L: codes are typed by people reading a poster.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
CODE_SHAPE = re.compile(rf"^[{CODE_ALPHABET}]{{{CODE_LENGTH}}}$")
MAC_LENGTH = 16  # 96 bits of base64url
PAYLOAD_MAX = 64  # Telegram's limit for the start parameter
PAYLOAD_SHAPE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9]{8,32}$")


class PayloadKind(StrEnum):
    """What a deep link does when opened."""

    CHECKIN = "c"
    STAFF_INVITE = "s"
    OFFICIAL_INVITE = "o"


class BadPayload(ValueError):
    """A payload that is malformed, forged, altered or truncated."""


@dataclass(frozen=True)
class Payload:
    """A verified deep-link payload."""

    kind: PayloadKind
    body: str


def new_venue_code() -> str:
    """A fresh random venue code people can type."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def new_token() -> str:
    """A fresh random token for one-time invites."""
    return secrets.token_hex(8)


# A code typed with spaces or dashes between its characters is still short; longer text is none.
MAX_TYPED_CODE = 32


def normalize_code(text: str) -> str | None:
    """A typed venue code, upper-cased and without spaces or dashes; None when it cannot be one."""
    if len(text) > MAX_TYPED_CODE:
        return None
    candidate = re.sub(r"[\s-]", "", text).upper()
    return candidate if CODE_SHAPE.match(candidate) else None


def _mac(secret: bytes, kind: PayloadKind, body: str) -> str:
    digest = hmac.new(secret, f"{kind.value}:{body}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")[:MAC_LENGTH]


def sign_payload(secret: bytes, kind: PayloadKind, body: str) -> str:
    """The `start` parameter for a deep link: kind, body and a truncated HMAC."""
    if not re.match(r"^[A-Za-z0-9]+$", body):
        raise ValueError("payload body must be alphanumeric")
    payload = f"{kind.value}-{body}-{_mac(secret, kind, body)}"
    if len(payload) > PAYLOAD_MAX:
        raise ValueError("payload too long for a Telegram deep link")
    return payload


def verify_payload(secret: bytes, payload: str) -> Payload:
    """Check a `start` parameter's shape and signature; raise BadPayload otherwise."""
    if not PAYLOAD_SHAPE.match(payload):
        raise BadPayload("malformed")
    # The MAC is base64url and may itself contain "-": split only the first two.
    parts = payload.split("-", 2)
    if len(parts) != 3:
        raise BadPayload("malformed")
    raw_kind, body, mac = parts
    try:
        kind = PayloadKind(raw_kind)
    except ValueError:
        raise BadPayload("unknown kind") from None
    if not body.isalnum() or len(mac) != MAC_LENGTH:
        raise BadPayload("malformed")
    if not hmac.compare_digest(mac, _mac(secret, kind, body)):
        raise BadPayload("bad signature")
    return Payload(kind=kind, body=body)


def deep_link(bot_username: str, payload: str) -> str:
    """The t.me link that opens the bot with a payload."""
    return f"https://t.me/{bot_username}?start={payload}"


@dataclass(frozen=True)
class Signer:
    """Signs and verifies deep-link payloads with the process's key."""

    secret: bytes

    def sign(self, kind: PayloadKind, body: str) -> str:
        return sign_payload(self.secret, kind, body)

    def verify(self, payload: str) -> Payload:
        return verify_payload(self.secret, payload)

    def checkin(self, venue_code: str) -> str:
        """The signed payload printed on a venue's poster."""
        return self.sign(PayloadKind.CHECKIN, venue_code)


@dataclass(frozen=True)
class Links:
    """Deep links to one bot: what front ends print, send and encode in QR codes."""

    signer: Signer
    bot_username: str

    def checkin(self, venue_code: str) -> str:
        """The deep link printed on a venue's poster."""
        return deep_link(self.bot_username, self.signer.checkin(venue_code))

    def to(self, kind: PayloadKind, body: str) -> str:
        """A signed deep link of any kind (invites)."""
        return deep_link(self.bot_username, self.signer.sign(kind, body))
