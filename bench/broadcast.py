"""Broadcast benchmark: drain a queued broadcast into the Bot API double and check the pacing.

Three runs, each with the sender in a process of its own (as `drain_outbox`) and the Bot API
double in this one, which timestamps every call:

1. the default limit (QUETMA_SEND_RATE=25): achieved rate, and the most calls in any one second;
2. the limit lifted (QUETMA_PAID_BROADCAST=1, QUETMA_SEND_RATE=1000);
3. a crash: the sender is killed with SIGKILL a third of the way through, then restarted;
   counts what was lost (must be 0) and repeated (must be at most the sender's concurrency).

    python bench/broadcast.py [--messages 10000] [--crash-messages 2000] [--quick] [--runs lifted,crash]

Uses MONGODB_URI when set, else an embedded SecantusDB in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import os
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app.delivery import DeliveryConfig  # noqa: E402
from bot.app.embedded import EmbeddedDatabase  # noqa: E402
from bot.app.settings import Settings  # noqa: E402
from storage.database import Repos  # noqa: E402
from storage.outbox import OutboundMessage  # noqa: E402
from storage.probe import ping  # noqa: E402
from tests.botapi import ApiCall, BotApiDouble  # noqa: E402
from tests.harness import TEST_TOKEN  # noqa: E402

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
SENDER = """
import asyncio
from bot.app.delivery import drain_outbox
from bot.app.runtime import open_repos
from bot.app.settings import Settings


async def main(settings):
    async with open_repos(settings) as repos:
        return await drain_outbox(settings, repos.outbox, repos.users)


stats = asyncio.run(main(Settings.from_env()))
print(stats.sent, stats.recovered)
"""


@dataclass
class Run:
    name: str
    limit: float
    messages: int
    delivered: int
    seconds: float
    rate: float
    busiest_second: int
    lost: int = 0
    repeated: int = 0
    concurrency: int = 0
    cpu_ms_per_message: float = 0.0


def busiest_second(calls: list[ApiCall]) -> int:
    """The most calls in any window of one second."""
    moments = sorted(call.at for call in calls)
    return max((bisect.bisect_left(moments, at + 1.0) - i for i, at in enumerate(moments)), default=0)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def queue_broadcast(uri: str, db: str, count: int) -> None:
    repos = Repos.open(uri, db, tz=TZ, retention_days=21)
    await repos.ensure_indexes()
    now = datetime.now(UTC)
    for start in range(0, count, 2000):
        await repos.outbox.enqueue_many(
            [
                OutboundMessage(
                    key=f"owner-summary:V{i:06d}:2026-11-19",
                    kind="owner-summary",
                    chat_id=1_000_000 + i,
                    text=f"Tóm tắt ngày 19/11 cho địa điểm V{i:06d}: 42 lượt quét",
                )
                for i in range(start, min(count, start + 2000))
            ],
            now,
        )
    await repos.close()


async def outbox_states(uri: str, db: str) -> dict[str, int]:
    repos = Repos.open(uri, db, tz=TZ, retention_days=21)
    try:
        return (await repos.outbox.status(datetime.now(UTC))).by_state
    finally:
        await repos.drop_database()
        await repos.close()


def sender_env(uri: str, db: str, api: BotApiDouble, rate: float, paid: bool) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "MONGODB_URI": uri,
        "QUETMA_DB": db,
        "BOT_TOKEN": TEST_TOKEN,
        "TELEGRAM_API_URL": api.url,
        "QUETMA_SEND_RATE": str(rate),
        "QUETMA_PAID_BROADCAST": "1" if paid else "0",
        "PTB_TIMEDELTA": "true",
    }


async def spawn(env: dict[str, str], cwd: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-c", SENDER, env=env, cwd=cwd, stdout=asyncio.subprocess.PIPE
    )


async def paced_run(
    name: str, uri: str, api: BotApiDouble, count: int, rate: float, paid: bool, cwd: str
) -> Run:
    db = f"bench_{uuid.uuid4().hex[:8]}"
    await queue_broadcast(uri, db, count)
    api.clear()
    started = time.perf_counter()
    process = await spawn(sender_env(uri, db, api, rate, paid), cwd)
    cpu = 0.0
    while process.returncode is None:
        try:
            cpu = cpu_seconds(process.pid)
        except (FileNotFoundError, ProcessLookupError):
            break
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), 1.0)
    await process.communicate()
    elapsed = time.perf_counter() - started
    calls = [call for call in api.calls_of("sendMessage") if call.ok]
    span = calls[-1].at - calls[0].at if len(calls) > 1 else 0.0
    states = await outbox_states(uri, db)
    return Run(
        name=name,
        limit=rate,
        messages=count,
        delivered=len({call.text for call in calls}),
        seconds=round(elapsed, 1),
        rate=(len(calls) - 1) / span if span else 0.0,
        busiest_second=busiest_second(calls),
        lost=count - states.get("sent", 0),
        cpu_ms_per_message=1000 * cpu / max(1, len(calls)),
    )


async def crash_run(uri: str, api: BotApiDouble, count: int, rate: float, cwd: str) -> Run:
    db = f"bench_{uuid.uuid4().hex[:8]}"
    await queue_broadcast(uri, db, count)
    api.clear()
    env = sender_env(uri, db, api, rate, paid=True)
    started = time.perf_counter()
    first = await spawn(env, cwd)
    await api.wait_for("sendMessage", count=count // 3, timeout=600)
    first.send_signal(signal.SIGKILL)
    await first.wait()
    second = await spawn(env, cwd)
    out, _ = await second.communicate()
    elapsed = time.perf_counter() - started
    delivered = Counter(call.text for call in api.calls_of("sendMessage") if call.ok)
    states = await outbox_states(uri, db)
    sent, recovered = out.decode().split()
    print(f"crash run: the restarted sender sent {sent} and recovered {recovered} claims; outbox {states}")
    concurrency = DeliveryConfig.from_settings(
        Settings(_env_file=None, send_rate=rate, paid_broadcast=True)  # type: ignore[call-arg]
    ).concurrency
    return Run(
        name="crash at 1/3, restart",
        limit=rate,
        messages=count,
        delivered=len(delivered),
        seconds=round(elapsed, 1),
        rate=0.0,
        busiest_second=0,
        lost=count - len(delivered) + (count - states.get("sent", 0)),
        repeated=sum(delivered.values()) - len(delivered),
        concurrency=concurrency,
    )


def print_table(runs: list[Run]) -> None:
    print()
    header = (
        f"{'run':<26}{'limit/s':>9}{'messages':>10}{'delivered':>11}{'seconds':>9}"
        f"{'rate/s':>9}{'% limit':>9}{'max in 1s':>11}{'lost':>6}{'repeated':>14}{'CPU ms/msg':>12}"
    )
    print(header)
    print("-" * len(header))
    for run in runs:
        share = f"{100 * run.rate / run.limit:.1f}" if run.rate else "-"
        busiest = str(run.busiest_second) if run.busiest_second else "-"
        repeated = f"{run.repeated} (<= {run.concurrency})" if run.concurrency else "-"
        cpu = f"{run.cpu_ms_per_message:.2f}" if run.cpu_ms_per_message else "-"
        print(
            f"{run.name:<26}{run.limit:>9.0f}{run.messages:>10}{run.delivered:>11}{run.seconds:>9}"
            f"{run.rate:>9.1f}{share:>9}{busiest:>11}{run.lost:>6}{repeated:>14}{cpu:>12}"
        )


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="quetma-broadcast-") as scratch:
        external = os.environ.get("MONGODB_URI")
        database = None if external else EmbeddedDatabase(Path(scratch) / "data", ping=ping)
        uri = external or await database.start()  # type: ignore[union-attr]
        runs: list[Run] = []
        try:
            async with BotApiDouble() as api:
                if "default" in args.runs:
                    runs.append(await paced_run("default limit", uri, api, args.messages, 25, False, scratch))
                    print_table(runs)
                if "lifted" in args.runs:
                    runs.append(
                        await paced_run("limit lifted (paid)", uri, api, args.messages, 1000, True, scratch)
                    )
                    print_table(runs)
                if "crash" in args.runs:
                    runs.append(await crash_run(uri, api, args.crash_messages, 1000, scratch))
        finally:
            if database is not None:
                await database.stop()
    print_table(runs)
    print(f"\ndatabase: {'MONGODB_URI' if external else 'embedded SecantusDB'}; CPUs: {os.cpu_count()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--crash-messages", type=int, default=2_000)
    parser.add_argument("--quick", action="store_true", help="1,000 messages and a 600-message crash run")
    parser.add_argument(
        "--runs",
        type=lambda text: set(text.split(",")),
        default={"default", "lifted", "crash"},
        help="which runs, comma-separated: default,lifted,crash (default: all three)",
    )
    parsed = parser.parse_args()
    if parsed.quick:
        parsed.messages, parsed.crash_messages = 1_000, 600
    asyncio.run(main(parsed))
