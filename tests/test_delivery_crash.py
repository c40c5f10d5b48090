"""Kill -9 in the middle of a broadcast: after a restart nothing is lost and repeats stay within the concurrency."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from pathlib import Path

from bot.clock import ManualClock
from storage.database import Repos
from storage.outbox import OutboundMessage
from tests.botapi import BotApiDouble
from tests.harness import TEST_TOKEN

ROOT = Path(__file__).resolve().parent.parent
CONCURRENCY = 8
MESSAGES = 300

# The sender process: everything due in the outbox, then exit.
SENDER = """
import asyncio, sys
from bot.app.delivery import DeliveryConfig, drain_outbox
from bot.app.runtime import open_repos
from bot.app.settings import Settings


async def main(settings, config):
    async with open_repos(settings) as repos:
        return await drain_outbox(settings, repos.outbox, repos.users, config=config)


settings = Settings.from_env()
config = DeliveryConfig.from_settings(settings, concurrency=int(sys.argv[1]), poll_interval=0.05)
stats = asyncio.run(main(settings, config))
print(stats.sent, stats.recovered)
"""


async def start_sender(env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        SENDER,
        str(CONCURRENCY),
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_a_sender_killed_mid_broadcast_loses_nothing_after_a_restart(
    mongo_uri: str, db_name: str, repos: Repos, botapi: BotApiDouble, clock: ManualClock, tmp_path: Path
) -> None:
    messages = [
        OutboundMessage(key=f"report:{i}", kind="official-report", chat_id=20_000 + i, text=f"báo cáo {i}")
        for i in range(MESSAGES)
    ]
    assert await repos.outbox.enqueue_many(messages, clock.now()) == MESSAGES
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "MONGODB_URI": mongo_uri,
        "QUETMA_DB": db_name,
        "BOT_TOKEN": TEST_TOKEN,
        "TELEGRAM_API_URL": botapi.url,
        "QUETMA_SEND_RATE": "200",
        "QUETMA_PAID_BROADCAST": "1",
        "PTB_TIMEDELTA": "true",
    }

    first = await start_sender(env, tmp_path)
    await botapi.wait_for("sendMessage", count=MESSAGES // 3, timeout=60)
    first.send_signal(signal.SIGKILL)
    await first.wait()
    before_restart = len(botapi.calls_of("sendMessage"))
    assert first.returncode == -signal.SIGKILL
    assert before_restart < MESSAGES  # killed in the middle

    second = await start_sender(env, tmp_path)
    out, err = await asyncio.wait_for(second.communicate(), timeout=120)
    assert second.returncode == 0, err.decode()[-2000:]

    delivered = Counter(call.text for call in botapi.calls_of("sendMessage") if call.ok)
    assert set(delivered) == {m.text for m in messages}  # nothing lost
    repeats = sum(delivered.values()) - MESSAGES
    assert repeats <= CONCURRENCY  # only what was on the wire at the kill went out twice
    status = await repos.outbox.status(clock.now())
    assert status.by_state == {"pending": 0, "sending": 0, "sent": MESSAGES, "failed": 0, "dropped": 0}
    sent_after_restart, recovered = (int(x) for x in out.split())
    assert recovered > 0  # the killed sender's claims were put back
    assert sent_after_restart >= MESSAGES - before_restart
