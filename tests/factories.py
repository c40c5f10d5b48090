"""Telegram update payloads as plain JSON dicts, for getUpdates, webhook posts or ``Update.de_json``."""

from __future__ import annotations

import itertools
import time
from typing import Any

from tests.botapi import DEFAULT_BOT_ID, DEFAULT_USERNAME

JsonDict = dict[str, Any]

_update_ids = itertools.count(1)
_message_ids = itertools.count(100_000)
_callback_ids = itertools.count(1)
_file_ids = itertools.count(1)

BOT_USER: JsonDict = {
    "id": DEFAULT_BOT_ID,
    "is_bot": True,
    "first_name": "QuetMa Test",
    "username": DEFAULT_USERNAME,
}


def next_update_id() -> int:
    """The next update_id from the module counter, shared by all factories."""
    return next(_update_ids)


def user(
    user_id: int,
    *,
    first_name: str = "An",
    last_name: str | None = None,
    username: str | None = None,
    language_code: str | None = "vi",
) -> JsonDict:
    """A Telegram User who is a person."""
    payload: JsonDict = {"id": user_id, "is_bot": False, "first_name": first_name}
    if last_name is not None:
        payload["last_name"] = last_name
    if username is not None:
        payload["username"] = username
    if language_code is not None:
        payload["language_code"] = language_code
    return payload


def private_chat(
    user_id: int, *, first_name: str = "An", last_name: str | None = None, username: str | None = None
) -> JsonDict:
    """The private chat with a user; its id equals the user's id."""
    payload: JsonDict = {"id": user_id, "type": "private", "first_name": first_name}
    if last_name is not None:
        payload["last_name"] = last_name
    if username is not None:
        payload["username"] = username
    return payload


def _utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram entity offsets use."""
    return len(text.encode("utf-16-le")) // 2


def _message(
    user_id: int,
    content: JsonDict,
    *,
    message_id: int | None,
    date: int | None,
    first_name: str = "An",
    last_name: str | None = None,
    username: str | None = None,
    language_code: str | None = "vi",
) -> JsonDict:
    """A Message from ``user_id`` in their private chat."""
    return {
        "message_id": next(_message_ids) if message_id is None else message_id,
        "date": int(time.time()) if date is None else date,
        "chat": private_chat(user_id, first_name=first_name, last_name=last_name, username=username),
        "from": user(
            user_id,
            first_name=first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
        ),
        **content,
    }


def _update(key: str, payload: JsonDict, update_id: int | None) -> JsonDict:
    return {"update_id": next_update_id() if update_id is None else update_id, key: payload}


def message_update(
    user_id: int,
    text: str,
    *,
    language_code: str = "vi",
    first_name: str = "An",
    last_name: str | None = None,
    username: str | None = None,
    update_id: int | None = None,
    message_id: int | None = None,
    date: int | None = None,
) -> JsonDict:
    """A text message from a user; a leading "/command" gets its bot_command entity."""
    content: JsonDict = {"text": text}
    if text.startswith("/"):
        command = text.split(maxsplit=1)[0]
        content["entities"] = [{"type": "bot_command", "offset": 0, "length": _utf16_len(command)}]
    message = _message(
        user_id,
        content,
        message_id=message_id,
        date=date,
        first_name=first_name,
        last_name=last_name,
        username=username,
        language_code=language_code,
    )
    return _update("message", message, update_id)


def callback_update(
    user_id: int,
    data: str,
    *,
    message_id: int | None = None,
    message_text: str = "Menu",
    language_code: str = "vi",
    first_name: str = "An",
    update_id: int | None = None,
    date: int | None = None,
) -> JsonDict:
    """A press on an inline button of a message the bot sent to the user."""
    message: JsonDict = {
        "message_id": next(_message_ids) if message_id is None else message_id,
        "date": int(time.time()) if date is None else date,
        "chat": private_chat(user_id, first_name=first_name),
        "from": dict(BOT_USER),
        "text": message_text,
    }
    query: JsonDict = {
        "id": str(next(_callback_ids)),
        "from": user(user_id, first_name=first_name, language_code=language_code),
        "chat_instance": f"chat-instance-{user_id}",
        "data": data,
        "message": message,
    }
    return _update("callback_query", query, update_id)


def contact_update(
    user_id: int,
    phone: str,
    *,
    first_name: str = "An",
    language_code: str = "vi",
    contact_user_id: int | None = None,
    update_id: int | None = None,
) -> JsonDict:
    """A shared contact, by default the sender's own, as a request_contact button sends it."""
    contact: JsonDict = {
        "phone_number": phone,
        "first_name": first_name,
        "user_id": user_id if contact_user_id is None else contact_user_id,
    }
    message = _message(
        user_id,
        {"contact": contact},
        message_id=None,
        date=None,
        first_name=first_name,
        language_code=language_code,
    )
    return _update("message", message, update_id)


def sticker_update(user_id: int, *, language_code: str = "vi", update_id: int | None = None) -> JsonDict:
    """A sticker message, for testing how the bot treats input it does not understand."""
    serial = next(_file_ids)
    sticker: JsonDict = {
        "file_id": f"sticker-{serial}",
        "file_unique_id": f"sticker-uniq-{serial}",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
        "emoji": "👍",
    }
    message = _message(user_id, {"sticker": sticker}, message_id=None, date=None, language_code=language_code)
    return _update("message", message, update_id)


def photo_update(
    user_id: int, *, caption: str | None = None, language_code: str = "vi", update_id: int | None = None
) -> JsonDict:
    """A photo message (a thumbnail and the full size, as Telegram sends them)."""
    serial = next(_file_ids)
    sizes = [
        {
            "file_id": f"photo-{serial}-s",
            "file_unique_id": f"photo-uniq-{serial}-s",
            "width": 90,
            "height": 90,
        },
        {
            "file_id": f"photo-{serial}-m",
            "file_unique_id": f"photo-uniq-{serial}-m",
            "width": 800,
            "height": 800,
        },
    ]
    content: JsonDict = {"photo": sizes}
    if caption is not None:
        content["caption"] = caption
    message = _message(user_id, content, message_id=None, date=None, language_code=language_code)
    return _update("message", message, update_id)
