"""The webhook server: secret check, bad bodies, duplicate deliveries, /healthz and /metrics."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from bot.app.embedded import RECORD_FILE, EmbeddedDatabase, ServerRecord
from bot.app.metrics import Metrics
from bot.app.settings import Settings
from bot.app.web import REPOS, SECRET_HEADER, create_app, running
from bot.clock import ManualClock
from storage.database import Repos
from storage.probe import ping
from tests import factories
from tests.botapi import BotApiDouble
from tests.processes import freeze, thaw

SECRET = "Telegram-only_s3cret"
HOOK = "/tg/hook"


def unused_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def webhook_settings(settings: Settings, **changes: object) -> Settings:
    return settings.model_copy(
        update={
            "webhook_url": f"https://quetma.example{HOOK}",
            "webhook_secret": SecretStr(SECRET),
            **changes,
        }
    )


@pytest.fixture
async def client(settings: Settings, repos: Repos, clock: ManualClock) -> AsyncIterator[TestClient]:
    app = create_app(webhook_settings(settings), clock=clock, metrics=Metrics())
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


def signed(secret: str = SECRET) -> dict[str, str]:
    return {SECRET_HEADER: secret}


async def test_startup_listens_then_registers_the_webhook_with_the_secret_and_the_handled_update_types(
    settings: Settings, repos: Repos, botapi: BotApiDouble, clock: ManualClock
) -> None:
    port = unused_port()
    url = f"http://127.0.0.1:{port}{HOOK}"
    hooked = webhook_settings(settings, webhook_url=url, host="127.0.0.1", port=port)
    async with running(hooked, clock=clock, metrics=Metrics()):
        call = botapi.calls_of("setWebhook")[-1]
        assert call.params["url"] == url
        assert call.params["secret_token"] == SECRET
        assert call.params["allowed_updates"] == ["message", "callback_query"]
        assert botapi.webhook_was_listening, "Telegram's first push must find the port open"


async def test_requests_without_the_right_secret_are_refused(
    client: TestClient, botapi: BotApiDouble
) -> None:
    update = factories.message_update(5001, "/help")
    for headers in ({}, signed("wrong"), signed(SECRET + "x"), signed(SECRET[:-1])):
        response = await client.post(HOOK, json=update, headers=headers)
        assert response.status == 403
    assert botapi.calls_of("sendMessage") == []


@pytest.mark.parametrize(
    "body",
    [
        b"not json at all",
        b"[1, 2, 3]",
        b'{"message": {"text": "hi"}}',
        b'{"update_id": "7"}',
        b'{"update_id": 7}',
        b'{"update_id": %d, "message": {"text": "hi"}}' % 2**70,
        b'{"update_id": -1, "message": {"text": "hi"}}',
        b'{"update_id": 8, "message": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"update_id": 9, "message": {"message_id": 1, "date": 0, "chat": {"id": [], "type": "private"}}}',
        b'{"update_id": 10, "message": {"message_id": 1, "date": 0, "text": "no chat"}}',
    ],
)
async def test_a_body_that_is_not_an_update_gets_400(client: TestClient, body: bytes) -> None:
    response = await client.post(HOOK, data=body, headers={**signed(), "Content-Type": "application/json"})
    assert response.status == 400


async def test_an_update_delivered_twice_is_processed_once(client: TestClient, botapi: BotApiDouble) -> None:
    def help_to(user: int) -> list[object]:
        return [
            c for c in botapi.calls_of("sendMessage") if c.chat_id == user and "/language" in (c.text or "")
        ]

    update = factories.message_update(5001, "/help", language_code="en")
    assert (await client.post(HOOK, json=update, headers=signed())).status == 200
    await botapi.wait_for(
        "sendMessage", predicate=lambda call: call.chat_id == 5001 and "/language" in (call.text or "")
    )
    assert len(help_to(5001)) == 1

    assert (await client.post(HOOK, json=update, headers=signed())).status == 200  # Telegram retries
    # A later update from the same chat is handled after the redelivery would have been.
    later = factories.message_update(5001, "/help", language_code="en")
    assert (await client.post(HOOK, json=later, headers=signed())).status == 200
    await botapi.wait_for(
        "sendMessage",
        count=2,
        predicate=lambda call: call.chat_id == 5001 and "/language" in (call.text or ""),
    )
    assert len(help_to(5001)) == 2

    metrics = {
        (sample.name, tuple(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(await (await client.get("/metrics")).text())
        for sample in family.samples
    }
    assert metrics[("quetma_updates_total", (("type", "message"),))] == 2
    assert metrics[("quetma_duplicate_updates_total", ())] == 1
    assert metrics[("quetma_handler_latency_seconds_count", ())] >= 1


async def test_metrics_are_prometheus_text_with_every_family(client: TestClient, repos: Repos) -> None:
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    families = {family.name for family in text_string_to_metric_families(await response.text())}
    assert {
        "quetma_updates",
        "quetma_checkins",
        "quetma_handler_latency_seconds",
        "quetma_outbox_depth",
        "quetma_messages_sent",
        "quetma_messages_failed",
        "quetma_telegram_429",
    } <= families


async def test_healthz_reports_the_database_and_the_sender(client: TestClient) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    body = await response.json()
    assert body["database"] == "ok"
    assert set(body["sender"]) >= {"running"} and "leader" in body
    assert body["outbox"] == {"pending": 0, "sending": 0}


async def test_healthz_answers_503_when_the_database_does_not_answer(
    settings: Settings, clock: ManualClock, tmp_path: Path
) -> None:
    async with EmbeddedDatabase(tmp_path / "own-db", ping=ping) as database:
        app = create_app(
            webhook_settings(settings, mongodb_uri=SecretStr(database.uri), db_name="healthz"), clock=clock
        )
        async with TestClient(TestServer(app)) as test_client:
            assert (await test_client.get("/healthz")).status == 200
            record = ServerRecord.from_json((tmp_path / "own-db" / RECORD_FILE).read_text())
            await freeze(record.pid)  # the server stops answering
            try:
                response = await test_client.get("/healthz")
                assert response.status == 503
                assert json.loads(await response.text())["database"] == "unreachable"
            finally:
                thaw(record.pid)  # let the app shut down cleanly


def samples(text: str) -> dict[str, float]:
    """Unlabelled samples of a Prometheus text exposition, by name."""
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if not sample.labels
    }


async def test_the_embedded_database_killed_with_sigkill_is_restarted_and_the_bot_answers_again(
    settings: Settings, clock: ManualClock, tmp_path: Path
) -> None:
    data_dir = tmp_path / "bot-data"
    own = webhook_settings(settings, mongodb_uri=None, data_dir=data_dir, db_name="supervised")
    app = create_app(own, clock=clock, metrics=Metrics())
    async with TestClient(TestServer(app)) as test_client:
        response = await test_client.get("/healthz")
        assert response.status == 200
        body = await response.json()
        assert body["database"] == "ok"
        assert body["embedded_database"] == {"state": "running", "restarts": 0, "last_exit": None}
        before = samples(await (await test_client.get("/metrics")).text())
        assert before["quetma_embedded_database_up"] == 1
        assert before["quetma_embedded_database_restarts_total"] == 0
        killed = ServerRecord.from_json((data_dir / RECORD_FILE).read_text())

        os.kill(killed.pid, signal.SIGKILL)

        # The supervisor notices at once and restarts after its first delay (0.5 s); starting a
        # Python process takes about a second more. Poll the bot's own health, with a deadline.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30.0
        while True:
            response = await test_client.get("/healthz")
            body = await response.json()
            if response.status == 200 and body["embedded_database"]["restarts"] == 1:
                break
            assert loop.time() < deadline, f"the database did not come back: {body}"
            await asyncio.sleep(0.1)
        assert body["database"] == "ok"
        assert body["embedded_database"] == {
            "state": "running",
            "restarts": 1,
            "last_exit": "was killed by SIGKILL",
        }
        replacement = ServerRecord.from_json((data_dir / RECORD_FILE).read_text())
        assert replacement.pid != killed.pid
        assert replacement.port == killed.port
        # The bot's own pooled client writes again, without anything being rebuilt.
        assert await app[REPOS].meta.get_or_create("after-restart", lambda: "written") == "written"
        after = samples(await (await test_client.get("/metrics")).text())
        assert after["quetma_embedded_database_up"] == 1
        assert after["quetma_embedded_database_restarts_total"] == 1
