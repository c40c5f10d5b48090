"""The offline playground: the real bot, against the Bot API emulator, driven from a web chat.

Nothing here is on production's path: `quetma run` never falls into it, it binds to loopback only,
uses its own database and refuses a MongoDB that is not on this machine.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from pydantic import SecretStr

from bot.app.emulator import BotApiDouble
from bot.app.processes import free_port
from bot.app.settings import ConfigError, Settings
from bot.app.web import SCHEDULER, TELEGRAM, running
from bot.invites import InviteKind
from bot.officials.audit import Actor
from bot.payload import PayloadKind

log = logging.getLogger(__name__)

PLAYGROUND_DB = "quetma_playground"
PLAYGROUND_USERNAME = "quetma_playground_bot"
# Shaped like a real token so the settings accept it; the emulator accepts any.
PLAYGROUND_TOKEN = "123456789:PLAYGROUNDplaygroundPLAYGROUNDplay00"  # noqa: S105 - fake, never sent off this machine
PLAYGROUND_SECRET = "playground-signing-secret"  # noqa: S105 - a local, throw-away database
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
ADMIN_ID = 910001
OFFICIAL_ID = 920001
OFFICIAL_REGION = "Hà Nội"


class ShiftedClock:
    """Real time plus an offset that only grows: time travel for the playground."""

    def __init__(self, start: datetime | None = None) -> None:
        self.offset = timedelta() if start is None else start - datetime.now(UTC)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def jump_to(self, moment: datetime) -> None:
        """Move to `moment` if it lies ahead (the bot's time never runs backwards)."""
        ahead = moment - self.now()
        if ahead > timedelta():
            self.offset += ahead


@dataclass
class Persona:
    """One person in the web chat."""

    user_id: int
    first_name: str
    role: str
    language_code: str = "vi"

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.user_id,
            "name": self.first_name,
            "role": self.role,
            "lang": self.language_code,
        }


def default_personas() -> list[Persona]:
    return [
        Persona(810001, "Minh", "citizen"),
        Persona(810002, "Hoa", "citizen", "en"),
        Persona(820001, "Tuấn", "owner"),
        Persona(OFFICIAL_ID, "Lan", "official"),
        Persona(ADMIN_ID, "Quân", "admin", "en"),
    ]


def playground_settings(base: Settings, api_url: str) -> Settings:
    """The bot's settings in the playground; refuses a MongoDB that is not on this machine."""
    web_port = free_port("127.0.0.1")
    if base.mongodb_uri is not None:
        host = urlsplit(base.mongodb_uri.get_secret_value()).hostname
        if host not in LOOPBACK:
            raise ConfigError("MONGODB_URI: the playground only runs against a database on 127.0.0.1")
    return base.model_copy(
        update={
            "bot_token": None,
            "telegram_api_url": api_url,
            "db_name": PLAYGROUND_DB,
            "bot_username": PLAYGROUND_USERNAME,
            "host": "127.0.0.1",
            # The bot's own web app (the officials' dashboard, /healthz) listens beside the chat,
            # and the links the bot sends point at it.
            "port": web_port,
            "public_url": f"http://127.0.0.1:{web_port}",
            "webhook_url": None,
            "admins": frozenset({ADMIN_ID}),
            "secret": base.secret or SecretStr(PLAYGROUND_SECRET),
        }
    )


_DEEP_LINK = re.compile(r"https://t\.me/(\w+)\?start=([\w-]+)")


@dataclass
class Playground:
    """The running bot, its emulator and clock, and the people chatting with it."""

    app: web.Application
    api: BotApiDouble
    clock: ShiftedClock
    personas: list[Persona] = field(default_factory=default_personas)
    sent_updates: list[dict[str, Any]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1_000_000))

    @property
    def container(self) -> Any:
        return self.app[TELEGRAM].container

    def persona(self, user_id: int) -> Persona:
        for persona in self.personas:
            if persona.user_id == user_id:
                return persona
        raise KeyError(user_id)

    def add_person(self, name: str) -> Persona:
        persona = Persona(max(p.user_id for p in self.personas) + 1, name or "Người mới", "citizen")
        self.personas.append(persona)
        return persona

    def _from(self, persona: Persona) -> dict[str, Any]:
        return {
            "id": persona.user_id,
            "is_bot": False,
            "first_name": persona.first_name,
            "language_code": persona.language_code,
        }

    def send(self, user_id: int, text: str) -> dict[str, Any]:
        """The person types `text`: one message update, with a command entity as Telegram adds."""
        persona = self.persona(user_id)
        message: dict[str, Any] = {
            "message_id": next(self._ids),
            "date": int(self.clock.now().timestamp()),
            "chat": {"id": user_id, "type": "private", "first_name": persona.first_name},
            "from": self._from(persona),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            length = len(command.encode("utf-16-le")) // 2
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        update: dict[str, Any] = {"message": message}
        update["update_id"] = self.api.push_update(update)
        self.sent_updates.append(update)
        return update

    def press(self, user_id: int, message_id: int, data: str) -> dict[str, Any]:
        """The person presses an inline button on one of the bot's messages."""
        persona = self.persona(user_id)
        original = next(
            (m for m in self.api.chat_log(user_id) if m.get("message_id") == message_id and "from" in m),
            {"message_id": message_id, "date": 0, "chat": {"id": user_id, "type": "private"}},
        )
        update: dict[str, Any] = {
            "callback_query": {
                "id": str(next(self._ids)),
                "from": self._from(persona),
                "chat_instance": str(user_id),
                "message": {k: v for k, v in original.items() if k != "deleted"},
                "data": data,
            }
        }
        update["update_id"] = self.api.push_update(update)
        self.sent_updates.append(update)
        return update

    async def scan_payload(self, message: dict[str, Any]) -> str | None:
        """What scanning this poster photo opens: its deep link, else the venue named in its caption."""
        text = str(message.get("caption") or message.get("text") or "")
        found = _DEEP_LINK.search(text)
        if found:
            return found.group(2)
        for word in re.findall(r"[A-Z0-9]{4,}", text):
            if await self.container.repos.venues.get(word) is not None:
                payload: str = self.container.signer.checkin(word)
                return payload
        return None

    async def official_invite(self) -> str:
        """A one-time invite that makes its opener an official of OFFICIAL_REGION."""
        container = self.container
        region = container.regions.resolve(OFFICIAL_REGION)
        actor = Actor(ADMIN_ID, "playground")
        invite = await container.create_invite(InviteKind.OFFICIAL, region.id, actor, timedelta(days=3))
        return str(container.signer.sign(PayloadKind.OFFICIAL_INVITE, invite.token))

    async def travel(self, to: str) -> str:
        """Move the bot's clock (21:00 today, 07:00 tomorrow, +2h) and run the jobs now due."""
        tz = self.container.settings.tz
        local = self.clock.now().astimezone(tz)
        if to == "21:00":
            target = datetime.combine(local.date(), time(21, 0, 10), tz)
        elif to == "07:00":
            target = datetime.combine(local.date() + timedelta(days=1), time(7, 0, 10), tz)
        else:
            target = local + timedelta(hours=2)
        previous = local
        self.clock.jump_to(target)
        scheduler = self.app[SCHEDULER]
        await scheduler.step()
        runner = scheduler.runner
        # Crossing midnight: yesterday's remaining hourly summaries still run, as the bot would have.
        if previous.date() != target.date():
            await runner.owner_summaries(previous.date(), 21)
        await runner.catch_up()
        await runner.auto_checkout()
        return self.clock.now().astimezone(tz).isoformat(timespec="minutes")


@asynccontextmanager
async def playground(base: Settings, *, start: datetime | None = None) -> AsyncIterator[Playground]:
    """The emulator, then the real bot (database, PTB polling the emulator, scheduler) on it."""
    clock = ShiftedClock(start)
    async with BotApiDouble(
        username=PLAYGROUND_USERNAME, first_name="QuetMa", clock=lambda: clock.now().timestamp()
    ) as api:
        settings = playground_settings(base, api.url).model_copy(
            update={"bot_token": SecretStr(PLAYGROUND_TOKEN)}
        )
        async with running(settings, polling=True, clock=clock) as app:
            pg = Playground(app=app, api=api, clock=clock)
            # The official persona joins the way a real one does: by opening an invite link.
            pg.send(OFFICIAL_ID, f"/start {await pg.official_invite()}")
            # ...and asks for the 07:00 report, so the morning can be rehearsed.
            pg.send(OFFICIAL_ID, f"/subscribe {OFFICIAL_REGION}")
            yield pg
