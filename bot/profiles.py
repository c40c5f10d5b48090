"""People as the bot knows them: language, display name, an optional phone, and how long that is kept.

A profile lives as long as its owner uses the bot: every contact pushes its expiry to the end of
the retention period (the same period as check-ins), after which the database's TTL monitor
removes it. `/forget` removes it at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from bot.clock import Clock
from bot.i18n import pick_language
from bot.text import plain_text
from storage.users import UserRepo

MAX_NAME = 128
# A phone number as Telegram shares it: digits, perhaps a leading + and single spaces. Kept as text,
# exactly as shared: a leading 0 or + is part of the number.
MAX_PHONE = 32
_PHONE = re.compile(r"\+?[0-9]+(?: [0-9]+)*")


def phone_number(raw: str) -> str | None:
    """`raw` unchanged when it is a phone number, else None."""
    return raw if len(raw) <= MAX_PHONE and _PHONE.fullmatch(raw) else None


@dataclass(frozen=True)
class Greeting:
    """What the bot knows of a person at the start of an update."""

    language: str
    first_contact: bool


@dataclass(frozen=True)
class Profiles:
    """Create, refresh and change profiles."""

    users: UserRepo
    clock: Clock
    retention: timedelta

    async def greet(self, user_id: int, *, display_name: str, telegram_language: str | None) -> Greeting:
        """Create or refresh a person's profile (and its expiry); their language and first contact."""
        now = self.clock.now()
        profile, first = await self.users.touch(
            user_id,
            display_name=plain_text(display_name, max_length=MAX_NAME),
            telegram_language=telegram_language,
            now=now,
            expires_at=now + self.retention,
        )
        return Greeting(pick_language(profile.language, telegram_language), first)

    async def set_language(self, user_id: int, language: str) -> None:
        await self.users.set_language(user_id, language)
