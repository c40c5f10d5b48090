"""Loopback Telegram Bot API emulator: a real HTTP server that python-telegram-bot talks to unmodified.

The bot under test is built with ``base_url(f"{api.url}/bot")`` and
``base_file_url(f"{api.url}/file/bot")``; every call is recorded as an :class:`ApiCall`,
answered with a payload PTB deserializes, and can be made to fail on demand.
"""

from __future__ import annotations

import asyncio
import io
import json
import mimetypes
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

from aiohttp import web
from PIL import Image

from bot.app.emulator.formatting import FormattingError, check_caption, check_text

JsonDict = dict[str, Any]
Params = dict[str, Any]
Files = dict[str, tuple[str, bytes]]
MethodHandler = Callable[[Params, Files], Awaitable[Any]]

DEFAULT_BOT_ID = 777000
DEFAULT_USERNAME = "quetma_test_bot"

# Free-text parameters are never decoded, so a message whose text happens to be "[1]",
# "true" or "42" is recorded exactly as the bot sent it.
_TEXT_KEYS = frozenset(
    {
        "text",
        "caption",
        "description",
        "short_description",
        "name",
        "title",
        "data",
        "query",
        "question",
        "explanation",
        "first_name",
        "last_name",
        "username",
        "address",
        "callback_query_id",
        "inline_query_id",
        "file_id",
        "secret_token",
        "language_code",
    }
)
# PTB sends every non-string scalar JSON-dumped ("42", "true"); these keys are turned back into numbers.
_NUMERIC_KEYS = frozenset(
    {
        "chat_id",
        "from_chat_id",
        "message_id",
        "reply_to_message_id",
        "message_thread_id",
        "user_id",
        "offset",
        "limit",
        "timeout",
        "cache_time",
        "max_connections",
        "until_date",
        "duration",
        "width",
        "height",
        "latitude",
        "longitude",
    }
)
# Methods that deliver to or act on a chat; a blocked chat answers 403 to these.
_CHAT_METHOD_PREFIXES = ("send", "edit", "copy", "forward")

_ERROR_DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
_DEFAULT_RETRY_AFTER = 1


async def _accepts_connections(url: str) -> bool:
    """True when a loopback URL's host and port accept a TCP connection right now."""
    parts = urlsplit(url)
    if parts.hostname not in {"127.0.0.1", "localhost", "::1"} or parts.port is None:
        return False
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(parts.hostname, parts.port), 2.0)
    except (OSError, TimeoutError):
        return False
    writer.close()
    await writer.wait_closed()
    return True


@dataclass(frozen=True, slots=True)
class ApiCall:
    """One Bot API request as the double received and answered it."""

    method: str
    params: Params
    files: Files
    at: float
    status: int

    @property
    def ok(self) -> bool:
        """Whether the call was answered successfully."""
        return self.status == 200

    @property
    def chat_id(self) -> int | str | None:
        """The decoded ``chat_id`` parameter, if any."""
        value: int | str | None = self.params.get("chat_id")
        return value

    @property
    def text(self) -> str | None:
        """The message text, or the caption for media."""
        value = self.params.get("text", self.params.get("caption"))
        return value if isinstance(value, str) else None


@dataclass(slots=True)
class _Fault:
    """A pending injected failure; ``remaining`` counts down as matching calls consume it."""

    status: int
    remaining: int
    retry_after: int | None
    description: str | None
    chat_id: int | str | None


class _ApiError(Exception):
    """Raised by a method implementation to answer with a Bot API error."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def error_body(status: int, description: str | None = None, retry_after: int | None = None) -> JsonDict:
    """Build the JSON body Telegram answers a failed request with."""
    if status == 429:
        seconds = _DEFAULT_RETRY_AFTER if retry_after is None else retry_after
        return {
            "ok": False,
            "error_code": 429,
            "description": description or f"Too Many Requests: retry after {seconds}",
            "parameters": {"retry_after": seconds},
        }
    body: JsonDict = {
        "ok": False,
        "error_code": status,
        "description": description or _ERROR_DESCRIPTIONS.get(status, f"Error {status}"),
    }
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return body


def decode_param(key: str, value: str) -> Any:
    """Turn one form field back into the value PTB encoded (JSON objects, arrays, numbers, booleans)."""
    if key in _TEXT_KEYS or not value:
        return value
    first = value[0]
    if first in "{[" or key in _NUMERIC_KEYS or value in ("true", "false"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _chat(chat_id: int | str) -> JsonDict:
    """A Chat object for ``chat_id``: positive ids are private chats, as for real users."""
    if isinstance(chat_id, int) and chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": "User"}
    if isinstance(chat_id, int):
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
        return {"id": chat_id, "type": kind, "title": "Group"}
    return {"id": -1001, "type": "channel", "title": "Channel", "username": chat_id.lstrip("@")}


def image_size(content: bytes) -> tuple[int, int]:
    """Width and height of an uploaded image (PNG read from its header, others via Pillow)."""
    if content[:8] == b"\x89PNG\r\n\x1a\n" and len(content) >= 24:
        width, height = struct.unpack(">II", content[16:24])
        return int(width), int(height)
    try:
        with Image.open(io.BytesIO(content)) as image:
            return image.size
    except (OSError, ValueError):
        # Telegram accepts bytes it cannot measure too; tests only need a well-formed PhotoSize.
        return 1, 1


class BotApiDouble:
    """An aiohttp server on 127.0.0.1 that behaves like the Bot API for the methods QuetMa uses."""

    def __init__(
        self,
        *,
        username: str = DEFAULT_USERNAME,
        bot_id: int = DEFAULT_BOT_ID,
        first_name: str = "QuetMa Test",
        clock: Callable[[], float] = time.time,
        host: str = "127.0.0.1",
    ) -> None:
        self.calls: list[ApiCall] = []
        self.delay: float = 0.0
        self._host = host
        self._clock = clock
        self._bot_user: JsonDict = {
            "id": bot_id,
            "is_bot": True,
            "first_name": first_name,
            "username": username,
        }
        self._runner: web.AppRunner | None = None
        self._url: str | None = None
        self._closing = False

        self._faults: dict[str, list[_Fault]] = {}
        self._blocked: set[int | str] = set()

        self._cond = asyncio.Condition()
        self._waiters = 0
        self._generation = 0

        self._updates: list[JsonDict] = []
        self._next_update_id = 1
        self._held_polls = 0
        self._update_event = asyncio.Event()

        self._message_seq = 0
        self._file_seq = 0
        self._messages: dict[tuple[int | str, int], JsonDict] = {}
        # Each chat as a person would see it: the bot's messages (edited in place) and theirs.
        self._chat_logs: dict[int | str, list[JsonDict]] = {}
        # The text as the bot sent it with its parse_mode, for clients that render formatting.
        self._formatted: dict[tuple[int | str, int], tuple[str, str]] = {}
        self._files: dict[str, tuple[str, bytes]] = {}
        self._commands: dict[tuple[str, str], list[JsonDict]] = {}
        self._menu_buttons: dict[int | str | None, JsonDict] = {}
        self._webhook: JsonDict = {"url": ""}

        self._methods: dict[str, MethodHandler] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "editMessageCaption": self._edit_message_caption,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._true,
            "setMyCommands": self._set_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "getMyCommands": self._get_my_commands,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendChatAction": self._true,
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
            "setMyDescription": self._true,
            "setMyShortDescription": self._true,
            "setMyName": self._true,
            "getFile": self._get_file,
            "close": self._true,
            "logOut": self._true,
        }
        # The Bot API treats method names case-insensitively.
        self._canonical = {name.lower(): name for name in self._methods}

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind a free loopback port and start serving."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._serve_file)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self._host, 0)
        await site.start()
        self._runner = runner
        host, port = runner.addresses[0][:2]
        self._url = f"http://{host}:{port}"
        self._closing = False

    async def stop(self) -> None:
        """Release pending long polls and shut the server down."""
        self._closing = True
        self._wake_pollers()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """Base address, e.g. ``http://127.0.0.1:40123``; PTB's base_url is ``f"{url}/bot"``."""
        if self._url is None:
            raise RuntimeError("BotApiDouble is not started")
        return self._url

    @property
    def bot_user(self) -> JsonDict:
        """The User object getMe answers with."""
        return dict(self._bot_user)

    # -- inspection ------------------------------------------------------------------------------

    def calls_of(self, method: str) -> list[ApiCall]:
        """All recorded calls of ``method``, in arrival order."""
        return [call for call in self.calls if call.method == method]

    def sent_texts(self, chat_id: int | str | None = None) -> list[str]:
        """Texts and captions the bot successfully sent or edited, optionally for one chat."""
        texts: list[str] = []
        for call in self.calls:
            if call.method not in _TEXT_METHODS or call.status != 200:
                continue
            if chat_id is not None and call.chat_id != chat_id:
                continue
            text = call.text
            if text is not None:
                texts.append(text)
        return texts

    def clear(self) -> None:
        """Forget recorded calls (faults, blocks, updates and messages are kept)."""
        self.calls.clear()
        self._generation += 1

    async def wait_for(
        self,
        method: str,
        *,
        count: int = 1,
        predicate: Callable[[ApiCall], bool] | None = None,
        timeout: float = 5.0,
    ) -> list[ApiCall]:
        """Wait until at least ``count`` matching calls (of any method for "*") were recorded."""
        found: list[ApiCall] = []
        position = 0
        generation = self._generation

        def scan() -> bool:
            nonlocal position, generation
            if generation != self._generation:
                found.clear()
                position = 0
                generation = self._generation
            calls = self.calls
            end = len(calls)
            for index in range(position, end):
                call = calls[index]
                if method in ("*", call.method) and (predicate is None or predicate(call)):
                    found.append(call)
            position = end
            return len(found) >= count

        if scan():
            return list(found)
        self._waiters += 1
        try:
            async with asyncio.timeout(timeout), self._cond:
                await self._cond.wait_for(scan)
        except TimeoutError:
            raise AssertionError(self._timeout_message(method, count, predicate, timeout, found)) from None
        finally:
            self._waiters -= 1
        return list(found)

    async def wait_for_poll(self, *, timeout: float = 5.0) -> None:
        """Wait until a getUpdates long poll is being held, waiting for updates."""
        self._waiters += 1
        try:
            async with asyncio.timeout(timeout), self._cond:
                await self._cond.wait_for(lambda: self._held_polls > 0)
        except TimeoutError:
            raise AssertionError(f"no getUpdates long poll was held within {timeout}s") from None
        finally:
            self._waiters -= 1

    @property
    def held_polls(self) -> int:
        """getUpdates calls currently held open waiting for an update."""
        return self._held_polls

    async def _notify(self) -> None:
        """Wake waiters; skipped when nobody waits, to keep the hot path cheap."""
        if self._waiters:
            async with self._cond:
                self._cond.notify_all()

    def _timeout_message(
        self,
        method: str,
        count: int,
        predicate: Callable[[ApiCall], bool] | None,
        timeout: float,
        found: list[ApiCall],
    ) -> str:
        """Explain a wait_for timeout with what did arrive."""
        matching = " matching the predicate" if predicate is not None else ""
        recent = ", ".join(
            f"{call.method}[{call.status}]"
            + (f"(chat={call.chat_id}, text={call.text!r})" if call.chat_id else "")
            for call in self.calls[-10:]
        )
        return (
            f"timed out after {timeout}s waiting for {count} {method} call(s){matching}; "
            f"got {len(found)} of {len(self.calls)} recorded calls; last calls: [{recent}]"
        )

    # -- updates ---------------------------------------------------------------------------------

    def chat_log(self, chat_id: int | str) -> list[JsonDict]:
        """The chat's messages in order: the bot's as last edited, and those given to push_update."""
        return list(self._chat_logs.get(chat_id, []))

    def file(self, file_id: str) -> tuple[str, bytes] | None:
        """(file name, bytes) of a file the bot uploaded."""
        return self._files.get(file_id)

    def push_update(self, update: JsonDict) -> int:
        """Queue an update for getUpdates and return its update_id (assigned if missing)."""
        stored = dict(update)
        update_id = stored.get("update_id")
        if not isinstance(update_id, int):
            update_id = self._next_update_id
            stored["update_id"] = update_id
        self._next_update_id = max(self._next_update_id, update_id + 1)
        self._updates.append(stored)
        message = stored.get("message")
        if isinstance(message, dict) and isinstance(message.get("chat"), dict):
            self._chat_logs.setdefault(message["chat"]["id"], []).append(message)
        self._wake_pollers()
        return update_id

    @property
    def pending_updates(self) -> int:
        """Updates pushed but not yet confirmed by a getUpdates offset."""
        return len(self._updates)

    @property
    def webhook_was_listening(self) -> bool:
        """Whether the webhook's address accepted connections when it was set, as Telegram's first
        push would need; only loopback addresses are tried."""
        return bool(self._webhook.get("listening"))

    @property
    def webhook_url(self) -> str:
        """The URL set with setWebhook, or "" when polling."""
        url: str = self._webhook["url"]
        return url

    def _wake_pollers(self) -> None:
        """Release every getUpdates call waiting on the current event."""
        event, self._update_event = self._update_event, asyncio.Event()
        event.set()

    def _confirm(self, offset: int | None) -> None:
        """Drop updates confirmed by ``offset``, with the Bot API's negative-offset semantics."""
        if offset is None or offset == 0:
            return
        if offset < 0:
            del self._updates[: max(0, len(self._updates) + offset)]
            return
        self._updates = [update for update in self._updates if update["update_id"] >= offset]

    # -- fault injection -------------------------------------------------------------------------

    def fail(
        self,
        method: str,
        *,
        status: int,
        count: int = 1,
        retry_after: int | None = None,
        description: str | None = None,
        chat_id: int | str | None = None,
    ) -> None:
        """Answer the next ``count`` calls of ``method`` (optionally only for ``chat_id``) with ``status``.

        ``chat_id`` also matches the chat of a command scope (setMyCommands for one chat).
        """
        fault = _Fault(status, count, retry_after, description, chat_id)
        self._faults.setdefault(method, []).append(fault)

    def block(self, chat_id: int | str) -> None:
        """Make every send to ``chat_id`` answer 403 as if the user blocked the bot."""
        self._blocked.add(chat_id)

    def unblock(self, chat_id: int | str) -> None:
        """Undo :meth:`block`."""
        self._blocked.discard(chat_id)

    def _injected_failure(self, method: str, params: Params) -> JsonDict | None:
        """Consume the first fault matching this call, or report a blocked chat."""
        faults = self._faults.get(method)
        if faults:
            scope = params.get("scope")
            chat_id = params.get("chat_id", scope.get("chat_id") if isinstance(scope, dict) else None)
            for fault in faults:
                if fault.chat_id is None or fault.chat_id == chat_id:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        faults.remove(fault)
                    return error_body(fault.status, fault.description, fault.retry_after)
        if (
            self._blocked
            and method.startswith(_CHAT_METHOD_PREFIXES)
            and params.get("chat_id") in self._blocked
        ):
            return error_body(403)
        return None

    # -- HTTP ------------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        """Decode, answer and record one Bot API call."""
        requested = request.match_info["method"]
        try:
            params, files = await _read_params(request)
        except ValueError as exc:
            params, files = {}, {}
            status, body = 400, error_body(400, f"Bad Request: {exc}")
        else:
            status, body = await self._answer(requested, params, files)
        if self.delay > 0:
            await asyncio.sleep(self.delay)
        method = self._canonical.get(requested.lower(), requested)
        self.calls.append(ApiCall(method, params, files, time.monotonic(), status))
        await self._notify()
        return web.json_response(body, status=status)

    async def _answer(self, requested: str, params: Params, files: Files) -> tuple[int, JsonDict]:
        """Compute the status and body for a decoded call."""
        method = self._canonical.get(requested.lower())
        if method is None:
            return 404, error_body(404)
        failure = self._injected_failure(method, params)
        if failure is not None:
            return int(failure["error_code"]), failure
        try:
            result = await self._methods[method](params, files)
        except _ApiError as exc:
            return exc.status, error_body(exc.status, exc.description)
        return 200, {"ok": True, "result": result}

    async def _serve_file(self, request: web.Request) -> web.Response:
        """Serve bytes uploaded earlier, as the Bot API file endpoint does."""
        file_id = request.match_info["path"].rsplit("/", 1)[-1]
        stored = self._files.get(file_id)
        if stored is None:
            return web.json_response(error_body(404), status=404)
        return web.Response(body=stored[1], content_type="application/octet-stream")

    # -- method implementations ------------------------------------------------------------------

    async def _true(self, params: Params, files: Files) -> bool:
        """Methods whose successful result is just ``true``."""
        return True

    async def _get_me(self, params: Params, files: Files) -> JsonDict:
        return {
            **self._bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _get_updates(self, params: Params, files: Files) -> list[JsonDict]:
        if self._webhook["url"]:
            raise _ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        self._confirm(_int_param(params, "offset"))
        limit = min(max(_int_param(params, "limit") or 100, 1), 100)
        timeout = float(params.get("timeout") or 0)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self._updates and not self._closing:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            event = self._update_event
            self._held_polls += 1
            await self._notify()
            try:
                async with asyncio.timeout(remaining):
                    await event.wait()
            except TimeoutError:
                break
            finally:
                self._held_polls -= 1
        return self._updates[:limit]

    def _new_message(self, chat_id: int | str, params: Params, content: JsonDict) -> JsonDict:
        """Create, store and return a Message sent by the bot."""
        self._message_seq += 1
        message: JsonDict = {
            "message_id": self._message_seq,
            "from": self._bot_user,
            "date": int(self._clock()),
            "chat": _chat(chat_id),
            **content,
        }
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        self._messages[(chat_id, self._message_seq)] = message
        self._chat_logs.setdefault(chat_id, []).append(message)
        self._remember_format(chat_id, self._message_seq, params)
        return message

    def _remember_format(self, chat_id: int | str, message_id: int, params: Params) -> None:
        source = params.get("text", params.get("caption"))
        mode = params.get("parse_mode")
        if isinstance(source, str) and isinstance(mode, str) and mode:
            self._formatted[(chat_id, message_id)] = (source, mode)
        else:
            self._formatted.pop((chat_id, message_id), None)

    def formatted(self, chat_id: int | str, message_id: int) -> tuple[str, str] | None:
        """(text, parse_mode) of a message the bot sent or last edited with a parse mode."""
        return self._formatted.get((chat_id, message_id))

    def _store_file(self, filename: str, content: bytes) -> tuple[str, str]:
        """Keep uploaded bytes for getFile and return (file_id, file_unique_id)."""
        self._file_seq += 1
        file_id = f"file-{self._file_seq}"
        self._files[file_id] = (filename, content)
        return file_id, f"uniq-{self._file_seq}"

    async def _send_message(self, params: Params, files: Files) -> JsonDict:
        chat_id = _chat_id(params)
        text = params.get("text")
        if not isinstance(text, str) or not text:
            raise _ApiError(400, "Bad Request: message text is empty")
        _check_text(text, params)
        return self._new_message(chat_id, params, {"text": text})

    async def _send_photo(self, params: Params, files: Files) -> JsonDict:
        chat_id = _chat_id(params)
        upload = _upload(params, files, "photo")
        if upload is not None:
            width, height = image_size(upload[1])
            file_id, unique_id = self._store_file(upload[0], upload[1])
            size: JsonDict = {
                "file_id": file_id,
                "file_unique_id": unique_id,
                "width": width,
                "height": height,
                "file_size": len(upload[1]),
            }
        else:
            file_id = _reference(params, "photo")
            size = {"file_id": file_id, "file_unique_id": f"uniq-{file_id}", "width": 1, "height": 1}
        return self._new_message(chat_id, params, {"photo": [size], **_caption(params)})

    async def _send_document(self, params: Params, files: Files) -> JsonDict:
        chat_id = _chat_id(params)
        upload = _upload(params, files, "document")
        if upload is not None:
            filename, content = upload
            file_id, unique_id = self._store_file(filename, content)
            document: JsonDict = {
                "file_id": file_id,
                "file_unique_id": unique_id,
                "file_name": filename,
                "mime_type": mimetypes.guess_type(filename)[0] or "application/octet-stream",
                "file_size": len(content),
            }
        else:
            file_id = _reference(params, "document")
            document = {"file_id": file_id, "file_unique_id": f"uniq-{file_id}"}
        return self._new_message(chat_id, params, {"document": document, **_caption(params)})

    def _message_to_edit(self, params: Params) -> JsonDict | None:
        """The stored message an edit targets (synthesized if the bot never sent it), None for inline."""
        if "inline_message_id" in params:
            return None
        chat_id = _chat_id(params)
        message_id = _int_param(params, "message_id")
        if message_id is None:
            raise _ApiError(400, "Bad Request: message identifier is not specified")
        message = self._messages.get((chat_id, message_id))
        if message is None:
            # Updates built by the factories refer to messages this double never sent.
            message = {
                "message_id": message_id,
                "from": self._bot_user,
                "date": int(self._clock()),
                "chat": _chat(chat_id),
            }
            self._messages[(chat_id, message_id)] = message
        message["edit_date"] = int(self._clock())
        return message

    @staticmethod
    def _apply_markup(message: JsonDict, params: Params) -> None:
        """Replace the inline keyboard; an edit without one removes it, as Telegram does."""
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)

    async def _edit_message_text(self, params: Params, files: Files) -> JsonDict | bool:
        text = params.get("text")
        if not isinstance(text, str) or not text:
            raise _ApiError(400, "Bad Request: message text is empty")
        _check_text(text, params)
        message = self._message_to_edit(params)
        if message is None:
            return True
        message["text"] = text
        self._remember_format(message["chat"]["id"], message["message_id"], params)
        self._apply_markup(message, params)
        return dict(message)

    async def _edit_message_caption(self, params: Params, files: Files) -> JsonDict | bool:
        _caption(params)  # refuses what Telegram would refuse
        message = self._message_to_edit(params)
        if message is None:
            return True
        caption = params.get("caption")
        if isinstance(caption, str) and caption:
            message["caption"] = caption
        else:
            message.pop("caption", None)
        self._apply_markup(message, params)
        return dict(message)

    async def _edit_message_reply_markup(self, params: Params, files: Files) -> JsonDict | bool:
        message = self._message_to_edit(params)
        if message is None:
            return True
        self._apply_markup(message, params)
        return dict(message)

    async def _delete_message(self, params: Params, files: Files) -> bool:
        message_id = _int_param(params, "message_id")
        deleted = self._messages.pop((_chat_id(params), message_id or 0), None)
        if deleted is not None:
            deleted["deleted"] = True
        return True

    @staticmethod
    def _commands_key(params: Params) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    async def _set_my_commands(self, params: Params, files: Files) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _ApiError(400, "Bad Request: can't parse commands JSON object")
        self._commands[self._commands_key(params)] = commands
        return True

    async def _delete_my_commands(self, params: Params, files: Files) -> bool:
        self._commands.pop(self._commands_key(params), None)
        return True

    async def _get_my_commands(self, params: Params, files: Files) -> list[JsonDict]:
        return self._commands.get(self._commands_key(params), [])

    async def _set_webhook(self, params: Params, files: Files) -> bool:
        url = params.get("url")
        if not isinstance(url, str):
            raise _ApiError(400, "Bad Request: bad webhook: URL must be provided")
        self._webhook = {"url": url, "listening": await _accepts_connections(url)}
        for key in ("max_connections", "allowed_updates"):
            if key in params:
                self._webhook[key] = params[key]
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
        return True

    async def _delete_webhook(self, params: Params, files: Files) -> bool:
        self._webhook = {"url": ""}
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
        return True

    async def _get_webhook_info(self, params: Params, files: Files) -> JsonDict:
        return {**self._webhook, "has_custom_certificate": False, "pending_update_count": len(self._updates)}

    async def _set_chat_menu_button(self, params: Params, files: Files) -> bool:
        button = params.get("menu_button") or {"type": "default"}
        self._menu_buttons[params.get("chat_id")] = button
        return True

    async def _get_chat_menu_button(self, params: Params, files: Files) -> JsonDict:
        return self._menu_buttons.get(params.get("chat_id"), {"type": "default"})

    async def _get_file(self, params: Params, files: Files) -> JsonDict:
        file_id = params.get("file_id")
        stored = self._files.get(file_id) if isinstance(file_id, str) else None
        if stored is None:
            raise _ApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": file_id,
            "file_unique_id": f"uniq-{file_id}",
            "file_size": len(stored[1]),
            "file_path": f"documents/{file_id}",
        }


_TEXT_METHODS = frozenset(
    {"sendMessage", "editMessageText", "sendPhoto", "sendDocument", "editMessageCaption"}
)


async def _read_params(request: web.Request) -> tuple[Params, Files]:
    """Decode query string, form-urlencoded, multipart or JSON parameters."""
    params: Params = {}
    if request.query_string:
        params.update((key, decode_param(key, value)) for key, value in request.query.items())
    files: Files = {}
    if not request.body_exists:
        return params, files
    content_type = request.content_type
    if content_type == "application/x-www-form-urlencoded":
        # The hot path of every text message: parsing directly is much cheaper than request.post().
        body = (await request.read()).decode()
        params.update(
            (key, decode_param(key, value)) for key, value in parse_qsl(body, keep_blank_values=True)
        )
        return params, files
    if content_type == "application/json":
        body = await request.json()
        if not isinstance(body, dict):
            raise ValueError("JSON body must be an object")
        params.update(body)
        return params, files
    form = await request.post()
    for key, value in form.items():
        if isinstance(value, web.FileField):
            files[key] = (value.filename, value.file.read())
        elif isinstance(value, str):
            params[key] = decode_param(key, value)
        else:
            params[key] = decode_param(key, bytes(value).decode())
    return params, files


def _chat_id(params: Params) -> int | str:
    chat_id = params.get("chat_id")
    if isinstance(chat_id, bool) or not isinstance(chat_id, int | str) or chat_id == "":
        raise _ApiError(400, "Bad Request: chat_id is empty")
    return chat_id


def _int_param(params: Params, key: str) -> int | None:
    value = params.get(key)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise _ApiError(400, f'Bad Request: field "{key}" must be an integer')


def _upload(params: Params, files: Files, field: str) -> tuple[str, bytes] | None:
    """The uploaded file for ``field``, sent directly or through an attach:// reference."""
    if field in files:
        return files[field]
    value = params.get(field)
    if isinstance(value, str) and value.startswith("attach://"):
        name = value.removeprefix("attach://")
        if name not in files:
            raise _ApiError(400, f"Bad Request: file {name} not found in the request")
        return files[name]
    return None


def _reference(params: Params, field: str) -> str:
    """A file_id or URL sent instead of an upload."""
    value = params.get(field)
    if not isinstance(value, str) or not value:
        raise _ApiError(400, f"Bad Request: there is no {field} in the request")
    return value


def _check_text(text: str, params: Params) -> None:
    try:
        check_text(text, params.get("parse_mode"))
    except FormattingError as exc:
        raise _ApiError(400, str(exc)) from None


def _caption(params: Params) -> JsonDict:
    caption = params.get("caption")
    if isinstance(caption, str) and caption:
        try:
            check_caption(caption, params.get("parse_mode"))
        except FormattingError as exc:
            raise _ApiError(400, str(exc)) from None
    return {"caption": caption} if isinstance(caption, str) and caption else {}
