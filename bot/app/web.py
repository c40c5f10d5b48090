"""The running bot as an aiohttp application: Telegram's updates, /healthz and /metrics, with
PTB inside its lifecycle, in both modes.

The database, the PTB application and the scheduler each start and stop in their own
cleanup context, in that order, so they stop in the reverse order. With the webhook, this app
receives the updates and hands them to PTB's update processor. With long polling (`quetma
run`) PTB's updater fetches them and the app has no webhook route. In both modes one HTTP server
listens on HOST:PORT for /healthz, /metrics and the officials' dashboard.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import asdict
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from telegram import Bot, Update

from bot.app import dashboard
from bot.app.container import build_container
from bot.app.context import QuetmaApplication
from bot.app.embedded import EmbeddedDatabase
from bot.app.metrics import Metrics
from bot.app.runtime import (
    ALLOWED_UPDATES,
    build_application,
    describe_database,
    observe_updates,
    open_database,
    start_application,
    start_polling,
    stop_application,
    stop_event_on_signals,
)
from bot.app.scheduler import Scheduler, background
from bot.app.settings import Settings
from bot.clock import Clock, SystemClock
from storage.database import Repos, time_budget

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
DEFAULT_WEBHOOK_PATH = "/telegram"
HEALTH_TIMEOUT = 3.0  # /healthz answers 503 within this when the database does not answer
MAX_UPDATE_BYTES = 1024 * 1024

SETTINGS = web.AppKey("settings", Settings)
CLOCK = web.AppKey("clock", Clock)
METRICS = web.AppKey("metrics", Metrics)
REPOS = web.AppKey("repos", Repos)
EMBEDDED = web.AppKey("embedded", EmbeddedDatabase)  # set only when the app runs the embedded server
TELEGRAM = web.AppKey("telegram", QuetmaApplication)
SCHEDULER = web.AppKey("scheduler", Scheduler)
WEBHOOK_SECRET = web.AppKey("webhook_secret", str)
MAX_UPDATE_ID = 2**63
MAX_TELEGRAM_ID = 2**52
POLLING = web.AppKey("polling", bool)


def webhook_path(settings: Settings) -> str:
    """The path Telegram posts to: the path of WEBHOOK_URL."""
    path = urlsplit(settings.webhook_url).path if settings.webhook_url else ""
    return path or DEFAULT_WEBHOOK_PATH


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    metrics: Metrics | None = None,
    polling: bool = False,
) -> web.Application:
    """The aiohttp application; nothing connects until it starts.

    With `polling`, PTB fetches updates itself and the app has no webhook route.
    """
    app = web.Application(client_max_size=MAX_UPDATE_BYTES)
    app[SETTINGS] = settings
    app[CLOCK] = clock or SystemClock()
    app[METRICS] = metrics or Metrics()
    app[POLLING] = polling
    app.cleanup_ctx.append(database_context)
    app.cleanup_ctx.append(telegram_context)
    app.cleanup_ctx.append(scheduler_context)
    if not polling:
        app.router.add_post(webhook_path(settings), receive_update)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_view)
    dashboard.setup(app, lambda: app[TELEGRAM].container)
    return app


# -- lifecycle --------------------------------------------------------------------------------------


async def database_context(app: web.Application) -> AsyncIterator[None]:
    # The bot runs for weeks: an embedded server that dies is started again under it.
    async with open_database(app[SETTINGS], supervise=True, observer=app[METRICS]) as database:
        app[REPOS] = database.repos
        if database.embedded is not None:
            app[EMBEDDED] = database.embedded
        yield


async def telegram_context(app: web.Application) -> AsyncIterator[None]:
    settings, repos = app[SETTINGS], app[REPOS]
    assert settings.bot_token is not None  # noqa: S101 - checked by the CLI
    container = await build_container(
        settings, repos, clock=app[CLOCK], checkin_effects=[app[METRICS].count_checkin]
    )
    if not app[POLLING]:
        if settings.webhook_secret is not None:
            secret = settings.webhook_secret.get_secret_value()
        else:
            secret = await repos.meta.get_or_create("webhook_secret", lambda: secrets.token_urlsafe(32))
        app[WEBHOOK_SECRET] = secret
    ptb = build_application(container, settings.bot_token.get_secret_value())
    observe_updates(ptb, app[METRICS])
    await start_application(ptb)
    app[TELEGRAM] = ptb
    try:
        if app[POLLING]:
            await start_polling(ptb)
        yield
    finally:
        await stop_application(ptb)


async def scheduler_context(app: web.Application) -> AsyncIterator[None]:
    ptb = app[TELEGRAM]
    c = ptb.container
    async with background(
        ptb, c.jobs, settings=c.settings, repos=c.repos, clock=c.clock, metrics=app[METRICS]
    ) as scheduler:
        app[SCHEDULER] = scheduler
        yield


# -- handlers ---------------------------------------------------------------------------------------


def parse_update(data: object, bot: Bot) -> Update | None:
    """The update in a webhook body's JSON, or None for anything else (the webhook answers 400)."""
    if not isinstance(data, dict) or len(data) < 2:
        return None
    update_id = data.get("update_id")
    # Telegram's update ids are positive and small; the stored id must fit a 64-bit integer.
    if not isinstance(update_id, int) or isinstance(update_id, bool) or not 0 <= update_id < MAX_UPDATE_ID:
        return None
    try:
        update = Update.de_json(data, bot)
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError, RecursionError):
        return None
    return update if well_formed(update) else None


def _telegram_id(value: object) -> bool:
    """An id as Telegram gives them: an integer of at most 52 bits."""
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) < MAX_TELEGRAM_ID


def _text_or_none(value: object) -> bool:
    return value is None or isinstance(value, str)


def well_formed(update: Update) -> bool:
    """Whether the parts handlers rely on have the types Telegram gives them.

    PTB builds objects from whatever JSON it gets without checking types: a chat id that is a
    list or a message without its chat would only fail inside a handler.
    """
    user, chat, message = update.effective_user, update.effective_chat, update.effective_message
    if user is not None and not (_telegram_id(user.id) and _text_or_none(user.language_code)):
        return False
    if chat is not None and not (_telegram_id(chat.id) and isinstance(chat.type, str)):
        return False
    if message is not None and not (
        message.chat is not None
        and _telegram_id(message.message_id)
        and _text_or_none(message.text)
        and _text_or_none(message.caption)
    ):
        return False
    query = update.callback_query
    return query is None or (isinstance(query.id, str) and _text_or_none(query.data))


async def receive_update(request: web.Request) -> web.Response:
    """Telegram's POST: 403 without the secret, 400 for anything but an update, else 200 at once."""
    app = request.app
    given = request.headers.get(SECRET_HEADER, "")
    if not secrets.compare_digest(given.encode(), app[WEBHOOK_SECRET].encode()):
        return web.Response(status=403, text="forbidden")
    try:
        data = json.loads(await request.read())
    except (ValueError, RecursionError):  # RecursionError: JSON nested thousands deep
        return web.Response(status=400, text="not JSON")
    ptb = app[TELEGRAM]
    update = parse_update(data, ptb.bot)
    if update is None:
        return web.Response(status=400, text="not an update")
    update_id = update.update_id
    metrics = app[METRICS]
    if not await app[REPOS].updates.first_delivery(update_id, app[CLOCK].now()):
        metrics.duplicate_updates.inc()
        return web.Response(status=200)
    # PTB awaits the tasks it created when it stops, so none is lost at shutdown. Its update
    # processor keeps each chat's updates in order and reports them to the metrics.
    ptb.create_task(
        ptb.update_processor.process_update(update, ptb.process_update(update)),
        update=update,
        name=f"update:{update_id}",
    )
    return web.Response(status=200)


async def healthz(request: web.Request) -> web.Response:
    """200 with database and sender status; 503 when the database does not answer in time.

    With the embedded server, `embedded_database` tells whether it runs or is being restarted,
    how many times it was restarted and how it last died.
    """
    app = request.app
    repos = app[REPOS]
    try:
        # The driver gives up after HEALTH_TIMEOUT; the outer guard only covers a driver that hangs.
        alive = await asyncio.wait_for(repos.ping(HEALTH_TIMEOUT), HEALTH_TIMEOUT + 1.5)
    except TimeoutError:
        alive = False
    body: dict[str, Any] = {
        "status": "ok" if alive else "unavailable",
        "database": "ok" if alive else "unreachable",
    }
    embedded = app.get(EMBEDDED)
    if embedded is not None:
        body["embedded_database"] = asdict(embedded.status())
    body |= app[SCHEDULER].status()
    if alive:
        with suppress(Exception), time_budget(HEALTH_TIMEOUT):
            body["outbox"] = await repos.outbox.depth()
    return web.json_response(body, status=200 if alive else 503)


async def metrics_view(request: web.Request) -> web.Response:
    """Prometheus text format."""
    app = request.app
    metrics = app[METRICS]
    with suppress(Exception), time_budget(HEALTH_TIMEOUT):
        depth = await app[REPOS].outbox.depth()
        for state, count in depth.items():
            metrics.outbox_depth.labels(state).set(count)
    body, content_type = metrics.render()
    return web.Response(body=body, headers={"Content-Type": content_type})


async def register_webhook(app: web.Application) -> None:
    """Tell Telegram where to push updates; called once the server listens."""
    settings = app[SETTINGS]
    if app[POLLING] or not settings.webhook_url:
        return
    await app[TELEGRAM].bot.set_webhook(
        url=settings.webhook_url, secret_token=app[WEBHOOK_SECRET], allowed_updates=ALLOWED_UPDATES
    )


@asynccontextmanager
async def running(
    settings: Settings,
    *,
    polling: bool = False,
    clock: Clock | None = None,
    metrics: Metrics | None = None,
) -> AsyncIterator[web.Application]:
    """Start the database, PTB and the scheduler, listen, and only then register the webhook, so
    Telegram's first pushes find an open port. Everything stops in reverse, also when a start fails."""
    app = create_app(settings, clock=clock, metrics=metrics, polling=polling)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    try:
        await runner.setup()
        await web.TCPSite(runner, settings.host, settings.port).start()
        await register_webhook(app)
        yield app
    finally:
        await runner.cleanup()


async def serve(settings: Settings, *, polling: bool = False, clock: Clock | None = None) -> None:
    """Run the bot until SIGINT/SIGTERM, with the webhook or with long polling; either way the web
    app (webhook route, /healthz, /metrics, the dashboard) listens on HOST:PORT."""
    stop = stop_event_on_signals()
    async with running(settings, polling=polling, clock=clock) as app:
        where = f"web on {settings.host}:{settings.port}"
        where += f", webhook at {webhook_path(settings)}" if not polling else ""
        log.info(
            "QuetMa started: bot @%s, %s, mode %s, %s",
            app[TELEGRAM].bot.username,
            describe_database(settings),
            "polling" if polling else "webhook",
            where,
        )
        await stop.wait()
        log.info("stopping")
