"""The sender's local queue: claimed messages ordered by when each may go, one chat_interval apart per chat."""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from storage.outbox import QueuedMessage


@dataclass(order=True)
class Slot:
    """A claimed message and the earliest monotonic moment it may be sent."""

    ready_at: float
    seq: int
    message: QueuedMessage = field(compare=False)


class ReadyQueue:
    """A heap of claimed messages; each chat's messages are spaced by `chat_gap` as they are placed."""

    def __init__(self) -> None:
        self._heap: list[Slot] = []
        self._reserved: dict[int, float] = {}  # chat -> moment of its last placed message
        self._seq = 0

    def __len__(self) -> int:
        return len(self._heap)

    @property
    def head(self) -> Slot:
        return self._heap[0]

    def pop(self) -> Slot:
        return heapq.heappop(self._heap)

    def push(self, message: QueuedMessage, at: float) -> None:
        self._seq += 1
        heapq.heappush(self._heap, Slot(at, self._seq, message))

    def place(
        self,
        messages: list[QueuedMessage],
        now: float,
        *,
        chat_ready_at: Callable[[int], float],
        gap: float,
        horizon: float,
    ) -> list[QueuedMessage]:
        """Queue each message one `gap` after the previous one to its chat; those due past `horizon` are returned."""
        self._reserved = {chat: at for chat, at in self._reserved.items() if at > now - gap}
        later: list[QueuedMessage] = []
        for message in messages:
            chat = message.chat_id
            previous = self._reserved.get(chat, -math.inf)
            at = max(now, chat_ready_at(chat), previous + gap)
            if at - now > horizon:
                later.append(message)
                continue
            self._reserved[chat] = at
            self.push(message, at)
        return later

    def take_chat(self, chat_id: int) -> list[QueuedMessage]:
        """Remove and return every message queued for one chat."""
        taken = [slot.message for slot in self._heap if slot.message.chat_id == chat_id]
        if taken:
            self._heap = [slot for slot in self._heap if slot.message.chat_id != chat_id]
            heapq.heapify(self._heap)
        return taken

    def take_all(self) -> list[QueuedMessage]:
        """Empty the queue; what it held."""
        taken = [slot.message for slot in self._heap]
        self._heap.clear()
        self._reserved.clear()
        return taken
