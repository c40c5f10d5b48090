"""python-telegram-bot persistence over `storage.persistence.PersistenceStore`.

PTB writes persistence on a timer; a conversation step must not wait for that, so
`SharedConversationHandler` re-reads its state (and the user's data) before every update it may
handle and writes it straight back afterwards. A restart, a crash or another instance behind the
same webhook then continues where the user left off.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from copy import deepcopy
from datetime import datetime, timedelta
from typing import Any

from telegram import Update
from telegram.ext import Application, BaseHandler, BasePersistence, ConversationHandler, PersistenceInput

from storage.persistence import (
    CONVERSATION_TTL,
    RELOAD_GROUP,
    UPDATE_INTERVAL,
    WRITE_GROUP,
    ConversationDict,
    ConversationKey,
    Data,
    PersistenceStore,
)


class MongoPersistence(BasePersistence[Data, Data, Data]):
    """PTB persistence over `PersistenceStore`; unchanged data is never rewritten.

    `transient_user_keys` are caches kept in user_data (such as the language) that are not
    worth a write per user. Callback data is not stored: buttons carry their own data.
    """

    def __init__(
        self,
        store: PersistenceStore,
        *,
        now: Callable[[], datetime],
        transient_user_keys: Collection[str] = (),
        conversation_ttl: timedelta = CONVERSATION_TTL,
        update_interval: float = UPDATE_INTERVAL,
    ) -> None:
        super().__init__(store_data=PersistenceInput(callback_data=False), update_interval=update_interval)
        self.store = store
        self._now = now
        self._transient = frozenset(transient_user_keys)
        self._ttl = conversation_ttl
        # Copies of what this instance last read or wrote, to skip writes that change nothing.
        self._users_seen: dict[int, Data] = {}
        self._chats_seen: dict[int, Data] = {}
        self._bot_seen: Data | None = None

    def _lasting(self, data: Data) -> Data:
        return {key: value for key, value in data.items() if key not in self._transient}

    async def get_user_data(self) -> dict[int, Data]:
        loaded = await self.store.all_user_data()
        self._users_seen = deepcopy(loaded)
        return loaded

    async def get_chat_data(self) -> dict[int, Data]:
        loaded = await self.store.all_chat_data()
        self._chats_seen = deepcopy(loaded)
        return loaded

    async def get_bot_data(self) -> Data:
        loaded = await self.store.bot_data()
        self._bot_seen = deepcopy(loaded)
        return loaded

    async def get_callback_data(self) -> None:
        return None

    async def get_conversations(self, name: str) -> ConversationDict:
        return await self.store.conversations(name, self._now())

    async def load_conversation(self, name: str, key: ConversationKey) -> object | None:
        return await self.store.conversation(name, key, self._now())

    async def update_conversation(self, name: str, key: ConversationKey, new_state: object | None) -> None:
        await self.store.save_conversation(name, key, new_state, self._now(), self._ttl)

    async def update_user_data(self, user_id: int, data: Data) -> None:
        lasting = self._lasting(data)
        if self._users_seen.get(user_id, {}) == lasting:
            return
        await self.store.save_user_data(user_id, lasting, self._now())
        self._users_seen[user_id] = deepcopy(lasting)

    async def reload_user_data(self, user_id: int, data: Data) -> None:
        """Replace a user's data in place with the stored one, keeping the transient keys."""
        stored = await self.store.user_data(user_id)
        kept = {key: value for key, value in data.items() if key in self._transient}
        data.clear()
        data.update(stored)
        data.update(kept)
        self._users_seen[user_id] = deepcopy(stored)

    async def update_chat_data(self, chat_id: int, data: Data) -> None:
        if self._chats_seen.get(chat_id, {}) == data:
            return
        await self.store.save_chat_data(chat_id, data, self._now())
        self._chats_seen[chat_id] = deepcopy(data)

    async def update_bot_data(self, data: Data) -> None:
        if self._bot_seen == data:
            return
        await self.store.save_bot_data(data, self._now())
        self._bot_seen = deepcopy(data)

    async def update_callback_data(self, data: Any) -> None:
        """Callback data is not stored."""

    async def drop_user_data(self, user_id: int) -> None:
        await self.store.save_user_data(user_id, {}, self._now())
        self._users_seen.pop(user_id, None)

    async def drop_chat_data(self, chat_id: int) -> None:
        await self.store.save_chat_data(chat_id, {}, self._now())
        self._chats_seen.pop(chat_id, None)

    async def refresh_user_data(self, user_id: int, user_data: Data) -> None:
        """Nothing per update: conversations re-read what they need (see SharedConversationHandler)."""

    async def refresh_chat_data(self, chat_id: int, chat_data: Data) -> None:
        """Nothing per update."""

    async def refresh_bot_data(self, bot_data: Data) -> None:
        """Nothing per update."""

    async def flush(self) -> None:
        """Every write already went to the database."""


class SharedConversationHandler(ConversationHandler[Any]):
    """A persistent conversation whose state MongoDB holds between any two updates.

    Register it with `install`, not `add_handler`. Its handlers must block (the default).
    """

    def install(self, app: Application[Any, Any, Any, Any, Any, Any], group: int = 0) -> None:
        """Add the conversation, plus the re-read before and the write after each update it concerns."""
        app.add_handler(self, group)
        _sync(app, RELOAD_GROUP, reload=True).conversations.append(self)
        _sync(app, WRITE_GROUP, reload=False).conversations.append(self)

    def concerns(self, update: object) -> bool:
        """Whether any of the conversation's handlers would take this update in some state."""
        if not isinstance(update, Update) or update.effective_chat is None or update.effective_user is None:
            return False
        handlers: list[BaseHandler[Any, Any, Any]] = [*self.entry_points, *self.fallbacks]
        for state_handlers in self.states.values():
            handlers.extend(state_handlers)
        return any(handler.check_update(update) not in (None, False) for handler in handlers)

    def key_for(self, update: Update) -> ConversationKey:
        return self._get_key(update)

    async def reload(self, update: Update, persistence: MongoPersistence) -> None:
        """Take the stored state of this update's conversation, whatever this instance remembers."""
        assert self.name is not None  # noqa: S101 - persistent conversations are named
        key = self.key_for(update)
        state = await persistence.load_conversation(self.name, key)
        # Tracked writes: the write after the update stores the state again, which also keeps a
        # conversation in use from lapsing.
        if state is None:
            self._conversations.pop(key, None)
        else:
            self._conversations[key] = state


class _ConversationSync(BaseHandler[Update, Any, None]):
    """Re-reads (before) or writes (after) the shared conversations an update concerns."""

    def __init__(self, *, reload: bool) -> None:
        super().__init__(_never_called)
        self.reload = reload
        self.conversations: list[SharedConversationHandler] = []

    def check_update(self, update: object) -> Sequence[SharedConversationHandler] | None:
        concerned = [conversation for conversation in self.conversations if conversation.concerns(update)]
        return concerned or None

    async def handle_update(
        self,
        update: Update,
        application: Application[Any, Any, Any, Any, Any, Any],
        check_result: object,
        context: Any,
    ) -> None:
        persistence = application.persistence
        if not isinstance(persistence, MongoPersistence) or not isinstance(check_result, list):
            return
        user = update.effective_user
        chat = update.effective_chat
        assert user is not None and chat is not None  # noqa: S101 - checked by concerns()
        if self.reload:
            for conversation in check_result:
                await conversation.reload(update, persistence)
            if context.user_data is not None:
                await persistence.reload_user_data(user.id, context.user_data)
            return
        application.mark_data_for_update_persistence(chat_ids=chat.id, user_ids=user.id)
        await application.update_persistence()


async def _never_called(update: Update, context: Any) -> None:
    """The sync handler does its work in handle_update."""


def _sync(app: Application[Any, Any, Any, Any, Any, Any], group: int, *, reload: bool) -> _ConversationSync:
    for handler in app.handlers.get(group, []):
        if isinstance(handler, _ConversationSync):
            return handler
    sync = _ConversationSync(reload=reload)
    app.add_handler(sync, group)
    return sync
