"""The Bot API double the tests use: the package's emulator (bot.app.emulator)."""

from bot.app.emulator.api import (
    DEFAULT_BOT_ID,
    DEFAULT_USERNAME,
    ApiCall,
    BotApiDouble,
    decode_param,
    error_body,
    image_size,
)

__all__ = [
    "DEFAULT_BOT_ID",
    "DEFAULT_USERNAME",
    "ApiCall",
    "BotApiDouble",
    "decode_param",
    "error_body",
    "image_size",
]
