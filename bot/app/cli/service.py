"""`quetma run`: the bot itself; `quetma playground`: the real bot offline, in a web chat."""

from __future__ import annotations

import argparse
import sys

from bot.app.cli import EXIT_BAD_INPUT, EXIT_OK, CliEnv, CliError

BOTFATHER_HELP = (
    "BOT_TOKEN is not set. Talk to @BotFather in Telegram, send /newbot, and put the token it gives you "
    "in a .env file (BOT_TOKEN=123456:ABC...) or in the environment, then run again."
)


async def run(args: argparse.Namespace, env: CliEnv) -> int:
    from bot.app.web import serve

    if env.settings.bot_token is None:
        if args.playground_without_token:
            # `make run` on a fresh machine: show the real bot offline rather than stop.
            return await playground(args, env)
        raise CliError(BOTFATHER_HELP)
    if args.webhook and not env.settings.webhook_url:
        raise CliError("WEBHOOK_URL: set the public https URL Telegram should call")
    await serve(env.settings, polling=not args.webhook, clock=env.clock)
    return EXIT_OK


async def playground(args: argparse.Namespace, env: CliEnv) -> int:
    from aiohttp import web

    from bot.app.playground import playground as start_playground
    from bot.app.playground.chat import create_chat_app
    from bot.app.runtime import stop_event_on_signals

    port = env.settings.port
    print(
        f"QuetMa playground (no BOT_TOKEN): the real bot, offline, at http://127.0.0.1:{port}/ - "
        "to connect to Telegram instead, set BOT_TOKEN (from @BotFather) and run again.",
        file=sys.stderr,
        flush=True,
    )
    stop = stop_event_on_signals()
    async with start_playground(env.settings) as pg:
        runner = web.AppRunner(create_chat_app(pg), handle_signals=False, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, "127.0.0.1", port).start()
            await stop.wait()
        finally:
            await runner.cleanup()
    return EXIT_OK


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("run", help="run the bot (long polling, or --webhook)")
    parser.add_argument("--webhook", action="store_true", help="serve a webhook instead of long polling")
    parser.add_argument(
        "--playground-without-token",
        action="store_true",
        help="with no BOT_TOKEN, start the offline playground instead of stopping (make run)",
    )
    parser.set_defaults(handler=run)
    play = sub.add_parser(
        "playground", help="the real bot offline: a web chat on http://127.0.0.1:PORT/, no token needed"
    )
    play.set_defaults(handler=playground)


__all__ = ["EXIT_BAD_INPUT", "register"]
