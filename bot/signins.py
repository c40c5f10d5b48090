"""Signing in to the officials' dashboard: one-time links sent in the chat, sessions, Mini App `initData`.

Links and session ids are random secrets handed to one person; only their SHA-256 is stored, so a
copy of the database opens nothing. Who may sign in (officials and admins) is decided by the caller.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

from bot.clock import Clock
from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES
from storage.signins import DashboardSession, SigninRepo

LINK_TTL = timedelta(minutes=10)
SESSION_TTL = timedelta(hours=8)
# How old a Mini App's initData may be: Telegram signs it when the app opens, so a stale one is a replay.
INIT_DATA_MAX_AGE = timedelta(hours=1)
INIT_DATA_CLOCK_SKEW = timedelta(minutes=1)


def secret_key(secret: str) -> str:
    """What is stored for a link or session secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Signins:
    """One-time sign-in links and the sessions they open."""

    repo: SigninRepo
    clock: Clock

    async def issue_link(self, user_id: int) -> str:
        """A token for a link valid LINK_TTL, usable once."""
        token = secrets.token_urlsafe(32)
        now = self.clock.now()
        await self.repo.add_link(secret_key(token), user_id, now=now, expires_at=now + LINK_TTL)
        return token

    async def redeem_link(self, token: str) -> int | None:
        """The user a link was issued to, if it is unused and unexpired; it is used up either way."""
        if not token or len(token) > 100:
            return None
        return await self.repo.use_link(secret_key(token), now=self.clock.now())

    async def open_session(self, user_id: int, *, lang: str, via: str) -> tuple[str, DashboardSession]:
        """A new session: the cookie value (given to the browser only) and the stored session."""
        cookie = secrets.token_urlsafe(32)
        now = self.clock.now()
        session = DashboardSession(
            key=secret_key(cookie),
            user_id=user_id,
            csrf=secrets.token_urlsafe(32),
            lang=lang if lang in LANGUAGES else DEFAULT_LANGUAGE,
            via=via,
            created_at=now,
            expires_at=now + SESSION_TTL,
        )
        await self.repo.add_session(session)
        return cookie, session

    async def session(self, cookie: str) -> DashboardSession | None:
        if not cookie or len(cookie) > 100:
            return None
        return await self.repo.get_session(secret_key(cookie), now=self.clock.now())

    async def set_language(self, session: DashboardSession, lang: str) -> None:
        if lang in LANGUAGES:
            await self.repo.set_language(session.key, lang)

    async def close_session(self, session: DashboardSession) -> None:
        await self.repo.end_session(session.key)


@dataclass(frozen=True)
class WebAppUser:
    """The Telegram user a Mini App's initData vouches for."""

    user_id: int
    name: str
    language_code: str | None
    auth_date: datetime


def init_data_hash(fields: dict[str, str], bot_token: str) -> str:
    """Telegram's signature of Mini App data: HMAC-SHA256 of the sorted `key=value` lines, keyed with
    HMAC-SHA256("WebAppData", bot_token)."""
    check = "\n".join(f"{key}={fields[key]}" for key in sorted(fields) if key != "hash")
    key = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    return hmac.new(key, check.encode(), hashlib.sha256).hexdigest()


def verify_init_data(init_data: str, bot_token: str, *, now: datetime) -> WebAppUser | None:
    """The user of a Mini App's initData when Telegram signed it recently; None for anything else."""
    if not init_data or len(init_data) > 10_000:
        return None
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return None
    fields = dict(pairs)
    if len(fields) != len(pairs):  # a repeated key could be read one way here and another when signed
        return None
    given = fields.get("hash", "")
    if not secrets.compare_digest(given.encode(), init_data_hash(fields, bot_token).encode()):
        return None
    try:
        auth_date = datetime.fromtimestamp(int(fields["auth_date"]), UTC)
        user = json.loads(fields["user"])
        user_id = user["id"]
    except (KeyError, ValueError, TypeError, OverflowError):
        return None
    if not isinstance(user_id, int) or isinstance(user_id, bool):
        return None
    if not now - INIT_DATA_MAX_AGE <= auth_date <= now + INIT_DATA_CLOCK_SKEW:
        return None
    name = " ".join(str(user.get(part, "")) for part in ("first_name", "last_name")).strip()
    language = user.get("language_code")
    return WebAppUser(user_id, name, language if isinstance(language, str) else None, auth_date)
