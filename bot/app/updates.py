"""Concurrent update processing that keeps each chat's updates in order."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Any, Protocol

from telegram import Update
from telegram.ext import BaseUpdateProcessor


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Different chats run concurrently; one chat's updates run one at a time, in arrival order.

    Conversations (venue registration) stay consistent while thousands of people
    check in at once.
    """

    __slots__ = ("_locks", "observer")

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}
        # Told of every update as it starts, and of the seconds its handling took as it ends.
        self.observer: UpdateObserver | None = None

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        observer = self.observer
        if observer is None:
            await self._in_chat_order(update, coroutine)
            return
        observer.update_started(update)
        started = time.perf_counter()
        try:
            await self._in_chat_order(update, coroutine)
        finally:
            observer.update_finished(time.perf_counter() - started)

    async def _in_chat_order(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _chat_key(update)
        if key is None:
            await coroutine
            return
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                await coroutine
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        self._locks.clear()


class UpdateObserver(Protocol):
    """What the processor reports to (`bot.app.metrics.Metrics`)."""

    def update_started(self, update: object) -> None:
        """An update's handling begins."""

    def update_finished(self, seconds: float) -> None:
        """An update's handling ended after `seconds`."""


def update_kind(update: object) -> str:
    """The kind of an update (`message`, `callback_query`, ...), `unknown` for anything else."""
    if isinstance(update, Update):
        for kind in Update.ALL_TYPES:
            if getattr(update, kind, None) is not None:
                return str(kind)
    return "unknown"


def _chat_key(update: object) -> int | None:
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return None
