"""`quetma run`: the bot itself."""

from __future__ import annotations

import argparse

from bot.app.cli import EXIT_BAD_INPUT, EXIT_OK, CliEnv, CliError

BOTFATHER_HELP = (
    "BOT_TOKEN is not set. Talk to @BotFather in Telegram, send /newbot, and put the token it gives you "
    "in a .env file (BOT_TOKEN=123456:ABC...) or in the environment, then run again."
)


async def run(args: argparse.Namespace, env: CliEnv) -> int:
    from bot.app.web import serve

    if env.settings.bot_token is None:
        raise CliError(BOTFATHER_HELP)
    if args.webhook and not env.settings.webhook_url:
        raise CliError("WEBHOOK_URL: set the public https URL Telegram should call")
    await serve(env.settings, polling=not args.webhook, clock=env.clock)
    return EXIT_OK


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("run", help="run the bot (long polling, or --webhook)")
    parser.add_argument("--webhook", action="store_true", help="serve a webhook instead of long polling")
    parser.set_defaults(handler=run)


__all__ = ["EXIT_BAD_INPUT", "register"]
