"""Runtime wiring: database (embedded or external), the PTB application, long polling."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any

from telegram import Bot, Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import Application, ContextTypes

from bot.app.container import Container
from bot.app.context import BotContext, QuetmaApplication
from bot.app.embedded import EmbeddedDatabase, SupervisionObserver
from bot.app.persistence import MongoPersistence
from bot.app.reply_retries import ReplyRetries
from bot.app.settings import ConfigError, Settings
from bot.app.telegram_http import AiohttpRequest
from bot.app.updates import PerChatUpdateProcessor, UpdateObserver
from handlers import citizen, common, dashboard, official, owner, start
from storage.database import Repos
from storage.probe import ping

log = logging.getLogger(__name__)

MAX_CONCURRENT_UPDATES = 64
# Update types the handlers use; passed to getUpdates and setWebhook.
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]

# Each audience registers its handlers here, in order; catch-alls come last.
HandlerModule = Callable[[Application[Any, Any, Any, Any, Any, Any]], None]
AUDIENCES: list[HandlerModule] = [
    common.register,
    start.register,
    citizen.register,
    official.register,
    dashboard.register,
    owner.register,
]


@dataclass(frozen=True)
class Database:
    """The repositories, and the embedded server behind them when no MONGODB_URI is given."""

    repos: Repos
    embedded: EmbeddedDatabase | None


@asynccontextmanager
async def open_database(
    settings: Settings, *, supervise: bool = False, observer: SupervisionObserver | None = None
) -> AsyncIterator[Database]:
    """The configured database, starting the embedded server when none is given.

    With `supervise` the embedded server is started again whenever it dies (the running bot).
    """
    embedded: EmbeddedDatabase | None = None
    if settings.mongodb_uri is not None:
        uri = settings.mongodb_uri.get_secret_value()
    else:
        embedded = EmbeddedDatabase(settings.data_dir, ping=ping, supervise=supervise, observer=observer)
        uri = await embedded.start()
    repos = Repos.open(uri, settings.db_name, tz=settings.tz, retention_days=settings.retention_days)
    try:
        await repos.ensure_indexes()
        yield Database(repos=repos, embedded=embedded)
    finally:
        await repos.close()
        if embedded is not None:
            await embedded.stop()


@asynccontextmanager
async def open_repos(settings: Settings) -> AsyncIterator[Repos]:
    """Repositories over the configured database, starting the embedded server when none is given."""
    async with open_database(settings) as database:
        yield database.repos


def describe_database(settings: Settings) -> str:
    """Where data lives, for logs; never includes credentials."""
    if settings.mongodb_uri is None:
        return f"embedded SecantusDB in {settings.data_dir}/db, database {settings.db_name}"
    return f"external MongoDB, database {settings.db_name}"


async def resolve_username(settings: Settings) -> str:
    """The bot's username for deep links: QUETMA_BOT_USERNAME, else getMe with BOT_TOKEN."""
    if settings.bot_username:
        return settings.bot_username
    if settings.bot_token is None:
        raise ConfigError("QUETMA_BOT_USERNAME: set it (or BOT_TOKEN) so deep links can name the bot")
    api = settings.telegram_api_url
    bot = Bot(settings.bot_token.get_secret_value(), base_url=f"{api}/bot", base_file_url=f"{api}/file/bot")
    try:
        async with bot:
            return bot.username
    except InvalidToken:
        raise ConfigError("BOT_TOKEN: Telegram refused this token") from None
    except TelegramError as exc:
        raise ConfigError(
            f"BOT_TOKEN: could not reach Telegram to learn the bot's username ({exc})"
        ) from None


def build_application(
    container: Container, token: str, *, reply_retries: ReplyRetries | None = None
) -> QuetmaApplication:
    """The PTB application with every handler; no updater (polling adds its own)."""
    api = container.settings.telegram_api_url
    request = AiohttpRequest(connection_pool_size=MAX_CONCURRENT_UPDATES)
    updates_request = AiohttpRequest(connection_pool_size=1, read_timeout=5.0)
    app = (
        Application.builder()
        .application_class(
            QuetmaApplication, kwargs={"container": container, "http": (request, updates_request)}
        )
        .token(token)
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .context_types(ContextTypes(context=BotContext))
        # Conversations and user data live in MongoDB: a restart or another instance continues them.
        .persistence(
            MongoPersistence(
                container.repos.persistence, now=container.clock.now, transient_user_keys=["lang", "seen"]
            )
        )
        # Replies are retried on 429 within a bound; proactive messages are paced by the delivery engine.
        .rate_limiter(reply_retries or ReplyRetries())
        .concurrent_updates(PerChatUpdateProcessor(MAX_CONCURRENT_UPDATES))
        .request(request)
        .get_updates_request(updates_request)
        .build()
    )
    assert isinstance(app, QuetmaApplication)  # noqa: S101 - application_class above
    for register in AUDIENCES:
        register(app)
    citizen.register_typed_codes(app)
    common.register_fallbacks(app)
    return app


async def start_application(app: QuetmaApplication) -> None:
    """Initialize, learn the bot's username, register commands, start processing."""
    try:
        await app.initialize()
    except BaseException:
        for request in app.http:  # PTB leaves them open when getMe fails
            await request.shutdown()
        raise
    await common.set_commands(app)
    await app.start()


def observe_updates(app: QuetmaApplication, observer: UpdateObserver) -> None:
    """Report every update's kind and handling time to `observer` (the metrics)."""
    processor = app.update_processor
    assert isinstance(processor, PerChatUpdateProcessor)  # noqa: S101 - build_application sets it
    processor.observer = observer


async def start_polling(app: QuetmaApplication) -> None:
    """Fetch updates with long polling (the application is started)."""
    assert app.updater is not None  # noqa: S101 - the builder adds one
    await app.updater.start_polling(allowed_updates=ALLOWED_UPDATES, timeout=30)


async def stop_application(app: QuetmaApplication) -> None:
    if app.updater is not None and app.updater.running:
        await app.updater.stop()
    if app.running:
        await app.stop()
    await app.shutdown()


def stop_event_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop
