"""A loopback Bot API emulator that python-telegram-bot talks to unmodified.

One implementation for the tests, the benchmarks and the offline playground.
"""

from bot.app.emulator.api import DEFAULT_BOT_ID, DEFAULT_USERNAME, ApiCall, BotApiDouble

__all__ = ["DEFAULT_BOT_ID", "DEFAULT_USERNAME", "ApiCall", "BotApiDouble"]
