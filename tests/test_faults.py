"""Faults under load: the embedded database killed in the middle of a burst of check-ins."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.app.embedded import CONFIG_FILE, RECORD_FILE, EmbeddedDatabase, ServerRecord
from bot.app.settings import Settings
from bot.clock import ManualClock
from bot.venues import venue_request
from storage.database import Repos
from storage.models import Venue
from storage.probe import ping
from tests.botapi import BotApiDouble
from tests.harness import BotHarness, texts

CITIZENS = range(7001, 7061)
KILL_AFTER_ACKNOWLEDGED = 8
BURST_DEADLINE_SECONDS = 90.0


@dataclass
class Supervised:
    """The bot over a supervised embedded server of its own, so that the test may kill it."""

    bot: BotHarness
    database: EmbeddedDatabase
    data_dir: Path

    def server_pid(self) -> int:
        return ServerRecord.from_json((self.data_dir / RECORD_FILE).read_text()).pid


@pytest.fixture
async def supervised(
    settings: Settings, botapi: BotApiDouble, clock: ManualClock, tmp_path: Path
) -> AsyncIterator[Supervised]:
    data_dir = tmp_path / "fault-db"
    data_dir.mkdir()
    # The tests' dates lie in the real past: the server's TTL sweep would delete records mid-test.
    (data_dir / CONFIG_FILE).write_text("[storage]\nttl_sweep_seconds = 0\n", encoding="utf-8")
    async with EmbeddedDatabase(data_dir, ping=ping, supervise=True, restart_delay=0.2) as database:
        repos = Repos.open(database.uri, "faults", tz=settings.tz, retention_days=21)
        try:
            await repos.ensure_indexes()
            bot = await BotHarness.start(settings, repos, botapi, clock)
            try:
                yield Supervised(bot=bot, database=database, data_dir=data_dir)
            finally:
                await bot.stop()
        finally:
            await repos.close()


async def make_venue(bot: BotHarness) -> Venue:
    regions = bot.container.regions
    hanoi = regions.match_province("Hà Nội")
    request = venue_request(
        name="Phòng khám Đức Thành",
        address="237 Âu Cơ",
        region=regions.match_ward(hanoi.id, "Ba Đình"),
        category="clinic",
    )
    return await bot.container.venues.register(request)


def acknowledged(api: BotApiDouble, venue: Venue) -> set[int]:
    """The citizens who were told their check-in at `venue` was recorded."""
    return {
        int(call.chat_id)
        for call in api.calls_of("sendMessage")
        if call.ok and call.chat_id is not None and venue.name in (call.text or "")
    }


async def test_every_acknowledged_checkin_survives_a_database_killed_mid_burst(
    supervised: Supervised, botapi: BotApiDouble
) -> None:
    bot = supervised.bot
    venue = await make_venue(bot)
    payload = bot.link_payload(venue.code)
    killed = supervised.server_pid()

    async def scan(user: int) -> None:
        await bot.send(user, f"/start {payload}")

    burst = [asyncio.create_task(scan(user), name=f"scan:{user}") for user in CITIZENS]
    try:
        # Kill the server once some check-ins are confirmed and the rest are still in flight.
        await botapi.wait_for(
            "sendMessage",
            count=KILL_AFTER_ACKNOWLEDGED,
            predicate=lambda call: venue.name in (call.text or ""),
            timeout=BURST_DEADLINE_SECONDS,
        )
        os.kill(killed, signal.SIGKILL)
        async with asyncio.timeout(BURST_DEADLINE_SECONDS):
            await asyncio.gather(*burst)
    finally:
        for task in burst:
            task.cancel()
        await asyncio.gather(*burst, return_exceptions=True)

    # Check-ins give up within their time budget, possibly before the supervisor's restart is done.
    async with asyncio.timeout(BURST_DEADLINE_SECONDS):
        while (status := supervised.database.status()).state != "running":
            await asyncio.sleep(0.05)
    assert status.restarts == 1
    told = acknowledged(botapi, venue)
    assert KILL_AFTER_ACKNOWLEDGED <= len(told) < len(CITIZENS), "the kill happened mid-burst"
    stored: dict[int, int] = {}
    async for visit in bot.repos.db["visits"].find({"venue_code": venue.code}):
        stored[visit["user_id"]] = stored.get(visit["user_id"], 0) + 1
    assert all(count == 1 for count in stored.values()), f"stored more than once: {stored}"
    assert told <= set(stored), f"acknowledged but not stored: {sorted(told - set(stored))}"
    # A citizen told "not recorded" whose visit reached the server all the same (its reply was
    # lost with the connection) re-scans below, and that re-scan continues the visit: never two.

    # Those who were not confirmed scan again, and the bot, on the restarted server, records them.
    for user in sorted(set(CITIZENS) - told):
        await bot.send(user, f"/start {payload}")
    assert acknowledged(botapi, venue) == set(CITIZENS)
    visits = await bot.repos.db["visits"].count_documents({"venue_code": venue.code})
    assert visits == len(CITIZENS)


async def test_a_frozen_database_gets_a_polite_try_again_and_the_bot_recovers_after_it_thaws(
    supervised: Supervised, botapi: BotApiDouble
) -> None:
    bot = supervised.bot
    venue = await make_venue(bot)
    payload = bot.link_payload(venue.code)
    citizen = CITIZENS[0]
    await bot.send(citizen, "/help", language_code="en")  # known: no profile write on the next updates
    bot.app.update_patience = 1.0  # shorter than the check-ins' own patience and the driver's timeouts
    frozen = supervised.server_pid()
    os.kill(frozen, signal.SIGSTOP)
    try:
        # Each update ends within its patience while the server is stopped: nobody waits forever.
        async with asyncio.timeout(BURST_DEADLINE_SECONDS):
            scanned = texts(await bot.send(citizen, f"/start {payload}", language_code="en"))
            history = texts(await bot.send(citizen, "/history", language_code="en"))
        assert supervised.database.status().state == "running", "a stopped server is not a dead one"
    finally:
        os.kill(frozen, signal.SIGCONT)
    assert scanned == ["Your check-in was not recorded: QuetMa is busy right now. Please scan the QR again."]
    assert history == ["QuetMa is busy right now. Please try again in a minute."]

    # Thawed, the same server answers again: the scan is recorded, once.
    bot.app.update_patience = 30.0
    scanned = texts(await bot.send(citizen, f"/start {payload}", language_code="en"))
    assert any(venue.name in t for t in scanned), scanned
    history = texts(await bot.send(citizen, "/history", language_code="en"))
    assert any(venue.name in t for t in history), history
    assert await bot.repos.db["visits"].count_documents({"venue_code": venue.code}) == 1
    assert supervised.database.status().restarts == 0
