"""The `quetma` command line: parsing, the shared application, exit codes (0 ok, 2 bad input, 1 failure)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from bot.app.container import Container, build_container
from bot.app.runtime import open_repos, resolve_username
from bot.app.settings import ConfigError, Settings
from bot.clock import Clock, SystemClock
from bot.payload import Links

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2

log = logging.getLogger("quetma")


class CliError(Exception):
    """Bad input, told to the operator in one line (exit code 2)."""


@dataclass
class CliEnv:
    """What a command handler receives besides its arguments."""

    settings: Settings
    clock: Clock
    out: Callable[[str], None]


Handler = Callable[[argparse.Namespace, CliEnv], Coroutine[Any, Any, int]]
Registrar = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]


@dataclass(frozen=True)
class CliApp:
    """The container for one command, and deep links when the command prints them."""

    container: Container
    links: Links


@asynccontextmanager
async def cli_app(env: CliEnv, *, need_username: bool = False) -> AsyncIterator[CliApp]:
    """Open the database and build the container for one command; learn the bot's username when
    the command prints links."""
    username = await resolve_username(env.settings) if need_username else env.settings.bot_username or ""
    async with open_repos(env.settings) as repos:
        container = await build_container(env.settings, repos, clock=env.clock)
        yield CliApp(container=container, links=Links(container.signer, username))


def build_parser(registrars: Sequence[Registrar]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="quetma", description="QuetMa: Telegram QR check-in service")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log progress (commands other than run are quiet)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for registrar in registrars:
        registrar(sub)
    return parser


def registrars() -> list[Registrar]:
    from bot.app.cli import delivery, officials, reports, service, venues

    return [service.register, venues.register, reports.register, officials.register, delivery.register]


def main(
    argv: Sequence[str] | None = None, *, clock: Clock | None = None, out: Callable[[str], None] = print
) -> int:
    """Parse, configure and run one command; map errors to exit codes with one-line messages."""
    # Opt in to PTB's timedelta-valued durations (retry_after and friends) now rather than via deprecation.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    parser = build_parser(registrars())
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed the usage line
        return EXIT_OK if exc.code == 0 else EXIT_BAD_INPUT
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"quetma: configuration error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    # The bot logs at QUETMA_LOG_LEVEL; one-off commands print their result and only warnings.
    level = getattr(logging, settings.log_level.upper(), logging.INFO)
    if args.command not in {"run", "playground"} and not args.verbose:
        level = max(level, logging.WARNING)
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx logs every request URL, and the URL carries the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    handler: Handler = args.handler
    env = CliEnv(settings=settings, clock=clock or SystemClock(), out=out)
    try:
        return asyncio.run(handler(args, env))
    except (CliError, ConfigError) as exc:
        print(f"quetma: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return EXIT_FAILURE
    except Exception as exc:
        log.debug("command failed", exc_info=True)
        print(f"quetma: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILURE
