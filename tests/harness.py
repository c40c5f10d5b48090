"""A user's-eye driver for the real bot: send updates, read what the bot answered."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from telegram import Update

from bot.app.container import Container, build_container
from bot.app.context import QuetmaApplication
from bot.app.reply_retries import ReplyRetries
from bot.app.runtime import build_application, start_application, stop_application
from bot.app.settings import Settings
from bot.checkins import CheckinEffect
from bot.clock import ManualClock, local_day
from bot.payload import Links
from storage.database import Repos
from tests import factories
from tests.botapi import ApiCall, BotApiDouble

TEST_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"


@dataclass
class BotHarness:
    """The real PTB application over a real database, talking to the Bot API double."""

    app: QuetmaApplication
    container: Container
    api: BotApiDouble
    clock: ManualClock
    repos: Repos

    @classmethod
    async def start(
        cls,
        settings: Settings,
        repos: Repos,
        api: BotApiDouble,
        clock: ManualClock,
        *,
        checkin_effects: Sequence[CheckinEffect] = (),
        reply_retries: ReplyRetries | None = None,
    ) -> BotHarness:
        container = await build_container(settings, repos, clock=clock, checkin_effects=checkin_effects)
        assert settings.bot_token is not None
        app = build_application(container, settings.bot_token.get_secret_value(), reply_retries=reply_retries)
        await start_application(app)
        return cls(app=app, container=container, api=api, clock=clock, repos=repos)

    def today(self) -> date:
        """The bot's current local day."""
        return local_day(self.clock.now(), self.container.settings.tz)

    @property
    def links(self) -> Links:
        return Links(self.container.signer, self.app.bot.username)

    async def stop(self) -> None:
        await stop_application(self.app)

    async def feed(self, update: dict[str, Any]) -> None:
        """Process one update exactly as if Telegram had delivered it."""
        await self.app.process_update(Update.de_json(update, self.app.bot))

    async def send(self, user_id: int, text: str, **kwargs: Any) -> list[ApiCall]:
        """The user sends a text; returns the calls the bot made in response."""
        before = len(self.api.calls)
        await self.feed(factories.message_update(user_id, text, **kwargs))
        return self.api.calls[before:]

    async def press(self, user_id: int, data: str, **kwargs: Any) -> list[ApiCall]:
        """The user presses an inline button carrying `data`."""
        before = len(self.api.calls)
        await self.feed(factories.callback_update(user_id, data, **kwargs))
        return self.api.calls[before:]

    def link_payload(self, code: str) -> str:
        return self.container.signer.checkin(code)


def texts(calls: list[ApiCall]) -> list[str]:
    """What the user saw in these calls (messages, edits, captions, alerts)."""
    out = []
    for call in calls:
        if call.method == "answerCallbackQuery":
            if call.params.get("text"):
                out.append(str(call.params["text"]))
        elif call.text:
            out.append(call.text)
    return out


def buttons(call: ApiCall) -> list[tuple[str, str]]:
    """(label, callback_data) of every inline button on a sent message."""
    markup = call.params.get("reply_markup") or {}
    return [
        (button["text"], button.get("callback_data", button.get("url", "")))
        for row in markup.get("inline_keyboard", [])
        for button in row
    ]


def button_data(calls: list[ApiCall], label_part: str) -> str:
    """The callback data of the first button whose label contains `label_part`."""
    for call in reversed(calls):
        for label, data in buttons(call):
            if label_part in label:
                return data
    raise AssertionError(f"no button labelled {label_part!r} in {[buttons(c) for c in calls]}")
