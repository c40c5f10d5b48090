"""The last look before a send: is the claim still this sender's?

A message can be cancelled after it was claimed (its recipient used /forget) or taken back
(a lease that ran out). Each send asks just before it goes; questions asked while one is on
its way to the database share the next query, so a broadcast pays one read per batch.
"""

from __future__ import annotations

import asyncio

from storage.outbox import OutboxRepo


class ClaimCheck:
    """Answers `held(key)` from the outbox, batching the questions that arrive together."""

    def __init__(self, outbox: OutboxRepo, owner: str) -> None:
        self._outbox = outbox
        self._owner = owner
        self._waiting: list[tuple[str, asyncio.Future[bool]]] = []
        self._task: asyncio.Task[None] | None = None

    async def held(self, key: str) -> bool:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((key, future))
        if self._task is None:
            self._task = asyncio.create_task(self._answer(), name="outbox-claim-check")
        return await future

    async def _answer(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                try:
                    held = await self._outbox.held(self._owner, [key for key, _ in batch])
                except Exception as exc:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for key, future in batch:
                    if not future.done():
                        future.set_result(key in held)
        finally:
            self._task = None

    async def close(self) -> None:
        """Wait for the questions already asked (the sender's last sends)."""
        if self._task is not None:
            await asyncio.wait([self._task])
