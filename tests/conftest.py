"""Fixtures: one real SecantusDB server per session, a fresh database per test, the Bot API double."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.app.embedded import CONFIG_FILE, EmbeddedDatabase
from bot.app.settings import Settings
from bot.clock import ManualClock
from storage.database import Repos
from storage.probe import ping
from tests.botapi import BotApiDouble
from tests.harness import TEST_TOKEN, BotHarness

# PTB's durations as timedelta, as in production (bot.app.cli.main sets the same).
os.environ.setdefault("PTB_TIMEDELTA", "true")

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
# A Thursday morning in Hanoi.
START = datetime(2026, 11, 19, 9, 0, tzinfo=TZ)


@pytest.fixture(scope="session")
async def mongo_uri() -> AsyncIterator[str]:
    """MONGODB_URI_TEST (a real mongod), else an embedded SecantusDB for the whole session."""
    external = os.environ.get("MONGODB_URI_TEST")
    if external:
        yield external
        return
    with tempfile.TemporaryDirectory(prefix="quetma-test-") as data_dir:
        # The tests' clock stands on fixed dates that lie in the real past, while the server's TTL
        # monitor deletes by real time: it would remove records mid-test (visitor marks expire at
        # the end of their day) and make counts depend on when the sweep happens to run.
        (Path(data_dir) / CONFIG_FILE).write_text("[storage]\nttl_sweep_seconds = 0\n", encoding="utf-8")
        server = EmbeddedDatabase(Path(data_dir), ping=ping)
        uri = await server.start()
        try:
            yield uri
        finally:
            await server.stop()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def db_name() -> str:
    return f"t_{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def botapi() -> AsyncIterator[BotApiDouble]:
    async with BotApiDouble() as api:
        yield api


@pytest.fixture
def settings(mongo_uri: str, db_name: str, botapi: BotApiDouble, tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token=TEST_TOKEN,
        mongodb_uri=mongo_uri,
        db_name=db_name,
        data_dir=tmp_path / "data",
        telegram_api_url=botapi.url,
        secret="test-signing-secret",
        tz_name="Asia/Ho_Chi_Minh",
        admins="900001",
    )


@pytest.fixture
async def repos(settings: Settings) -> AsyncIterator[Repos]:
    assert settings.mongodb_uri is not None
    opened = Repos.open(
        settings.mongodb_uri.get_secret_value(), settings.db_name, tz=settings.tz, retention_days=21
    )
    await opened.ensure_indexes()
    try:
        yield opened
    finally:
        await opened.drop_database()
        await opened.close()


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, mongo_uri: str, db_name: str, repos: Repos) -> str:
    """The `quetma` CLI on the test database, with the test bot's name, signing key and admin."""
    for name in list(os.environ):
        if name.startswith(("QUETMA_", "BOT_TOKEN", "WEBHOOK_", "MONGODB_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("MONGODB_URI", mongo_uri)
    monkeypatch.setenv("QUETMA_DB", db_name)
    monkeypatch.setenv("QUETMA_BOT_USERNAME", "quetma_test_bot")
    monkeypatch.setenv("QUETMA_SECRET", "test-signing-secret")
    monkeypatch.setenv("QUETMA_ADMINS", "900001")
    monkeypatch.chdir(Path(__file__).parent)  # no .env here
    return db_name


@pytest.fixture
async def bot(
    settings: Settings, repos: Repos, botapi: BotApiDouble, clock: ManualClock
) -> AsyncIterator[BotHarness]:
    harness = await BotHarness.start(settings, repos, botapi, clock)
    try:
        yield harness
    finally:
        await harness.stop()
