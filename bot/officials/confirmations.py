"""Signed confirmation buttons: what a preview offers to confirm cannot be altered or forged.

A button's callback data is visible to, and can be sent by, any Telegram client. The preview step
signs the action's parameters together with the user it was shown to; the confirmation is honoured
only with a valid signature, and its use case still checks every rule again (time passes between
preview and confirmation).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

# 96 bits: forging needs the key, and the data must fit Telegram's 64-byte callback limit.
MAC_LENGTH = 16
SEPARATOR = ":"


def _mac(secret: bytes, user_id: int, prefix: str, fields: tuple[str, ...]) -> str:
    message = "\x1f".join(("confirm", str(user_id), prefix, *fields)).encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")[:MAC_LENGTH]


def sign_action(secret: bytes, user_id: int, prefix: str, *fields: str) -> str:
    """Callback data `PREFIX field:field:...:MAC`, valid only when pressed by `user_id`."""
    if any(SEPARATOR in field for field in fields):
        raise ValueError("fields must not contain the separator")
    return prefix + SEPARATOR.join((*fields, _mac(secret, user_id, prefix, fields)))


def verify_action(
    secret: bytes, user_id: int, prefix: str, data: str, *, fields: int
) -> tuple[str, ...] | None:
    """The fields of a signed action pressed by `user_id`, or None when altered, forged or another's."""
    if not data.startswith(prefix):
        return None
    parts = data.removeprefix(prefix).split(SEPARATOR)
    if len(parts) != fields + 1:
        return None
    *values, mac = parts
    if not hmac.compare_digest(mac.encode(), _mac(secret, user_id, prefix, tuple(values)).encode()):
        return None
    return tuple(values)
