"""Replies retried when Telegram answers 429, within a bound.

A reply is the answer to what a person just did: worth a short wait, not an unbounded one. When
Telegram asks to wait (`retry_after`), the reply is sent again after that wait, up to `retries`
times and only while each wait is at most `max_wait`; past that it fails as before and the error
handler answers. Proactive messages never come here: the delivery engine has its own Bot and its
own pacing. Replies are not throttled otherwise (the bot talks in private chats only, so there is
no group rate to keep).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.app.delivery.errors import retry_after_seconds

log = logging.getLogger(__name__)

JSONDict = dict[str, Any]
Sleep = Callable[[float], Awaitable[None]]

REPLY_RETRIES = 3
REPLY_MAX_WAIT = timedelta(seconds=10)


class ReplyRetries(BaseRateLimiter[int]):
    """Send a reply again after Telegram's `retry_after`, at most `retries` times of `max_wait` each."""

    def __init__(
        self,
        *,
        retries: int = REPLY_RETRIES,
        max_wait: timedelta = REPLY_MAX_WAIT,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.retries = retries
        self.max_wait = max_wait.total_seconds()
        self._sleep = sleep

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | JSONDict | list[JSONDict]:
        attempt = 0
        while True:
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                wait = retry_after_seconds(exc)
                attempt += 1
                # The endpoint and the wait only: the request's URL holds the bot token.
                if attempt > self.retries or wait > self.max_wait:
                    log.warning(
                        "Telegram asked to wait %.0f s before %s; giving up after %d attempt(s)",
                        wait,
                        endpoint,
                        attempt,
                    )
                    raise
                log.info("Telegram asked to wait %.0f s before %s; retrying", wait, endpoint)
                await self._sleep(wait)
