"""End-to-end check-in throughput: the real bot process over the embedded server and the Bot API double.

Prints check-ins per second, p50/p99 latency (update queued -> confirmation received), the bot
process's CPU milliseconds per check-in, and the raw `insert_one` rate of the same database.

    python bench/checkin_throughput.py [--checkins 3000] [--venues 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app.embedded import EmbeddedDatabase  # noqa: E402
from bot.payload import PayloadKind, new_venue_code, sign_payload  # noqa: E402
from bot.regions import load_catalogue  # noqa: E402
from storage.database import Repos  # noqa: E402
from storage.models import NewVenue  # noqa: E402
from storage.probe import ping  # noqa: E402
from tests import factories  # noqa: E402
from tests.botapi import BotApiDouble  # noqa: E402
from tests.harness import TEST_TOKEN  # noqa: E402

SECRET = "bench-secret"  # noqa: S105 - a throwaway signing key for a throwaway database
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


async def raw_insert_rate(repos: Repos, count: int, concurrency: int) -> float:
    collection = repos.db["bench_raw"]
    await collection.drop()
    payload = {"venue_code": "ABCDEFGH", "user_id": 0, "day": "2026-11-22", "party": 1}
    queue = iter(range(count))

    async def worker() -> None:
        for i in queue:
            await collection.insert_one({**payload, "user_id": i, "checkin_at": datetime.now(UTC)})

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return count / (time.perf_counter() - started)


async def make_venues(repos: Repos, count: int) -> list[tuple[str, str]]:
    regions = load_catalogue()
    hanoi = regions.match_province("Hà Nội")
    wards = regions.wards(hanoi.id)
    venues = []
    for i in range(count):
        ward = wards[i % len(wards)]
        venue = await repos.venues.create(
            NewVenue(name=f"Điểm {i:04d}", address=f"{i} Phố Huế", category="shop", regions=ward.path),
            now=datetime.now(UTC),
            day="2026-11-22",
            new_code=new_venue_code,
        )
        venues.append((venue.code, venue.name))
    return venues


async def drive(
    api: BotApiDouble, venues: list[tuple[str, str]], users: range, rate: float | None
) -> dict[int, float]:
    """Push one scan per user (all at once, or at `rate` per second); return push times by user."""
    pushed: dict[int, float] = {}
    interval = 1 / rate if rate else 0.0
    start = time.monotonic()
    for n, user in enumerate(users):
        if interval:
            delay = start + n * interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        code, _ = venues[n % len(venues)]
        payload = sign_payload(SECRET.encode(), PayloadKind.CHECKIN, code)
        pushed[user] = time.monotonic()
        api.push_update(factories.message_update(user, f"/start {payload}"))
    return pushed


def confirmations(api: BotApiDouble, users: range) -> dict[int, float]:
    wanted = set(users)
    seen: dict[int, float] = {}
    for call in api.calls:
        if call.method != "sendMessage" or not call.text or "Điểm" not in call.text:
            continue
        chat = int(call.params["chat_id"])
        if chat in wanted and chat not in seen:
            seen[chat] = call.at
    return seen


async def wait_for_confirmations(api: BotApiDouble, users: range, timeout: float) -> dict[int, float]:
    await api.wait_for(
        "sendMessage",
        count=len(users),
        predicate=lambda c: bool(c.text and "Điểm" in c.text and int(c.params["chat_id"]) in users),
        timeout=timeout,
    )
    return confirmations(api, users)


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="quetma-bench-") as tmp:
        async with EmbeddedDatabase(Path(tmp), ping=ping) as server:
            figures = await measure(args, server.uri, tmp)
    report(args, figures)


async def measure(args: argparse.Namespace, uri: str, tmp: str) -> dict[str, float]:
    """Run every measurement against the server at `uri`."""
    repos = Repos.open(uri, "bench", tz=ZoneInfo("Asia/Ho_Chi_Minh"), retention_days=21)
    await repos.ensure_indexes()
    raw_seq = await raw_insert_rate(repos, args.raw, 1)
    raw_conc = await raw_insert_rate(repos, args.raw, 16)
    venues = await make_venues(repos, args.venues)
    async with BotApiDouble(clock=time.monotonic) as api:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(ROOT),
            "BOT_TOKEN": TEST_TOKEN,
            "TELEGRAM_API_URL": api.url,
            "MONGODB_URI": uri,
            "QUETMA_DB": "bench",
            "QUETMA_SECRET": SECRET,
            "QUETMA_LOG_LEVEL": "WARNING",
        }
        command = [args.profile] if args.profile else ["-m", "bot", "run"]
        bot = await asyncio.create_subprocess_exec(sys.executable, *command, cwd=tmp, env=env)
        try:
            await api.wait_for_poll(timeout=60)
            # Warm-up: connections, caches, first-import costs.
            warm = range(9_000_000, 9_000_000 + 50)
            await drive(api, venues, warm, None)
            await wait_for_confirmations(api, warm, 120)

            burst = range(10_000_000, 10_000_000 + args.checkins)
            cpu_before = cpu_seconds(bot.pid)
            pushed = await drive(api, venues, burst, None)
            done = await wait_for_confirmations(api, burst, 600)
            cpu_used = cpu_seconds(bot.pid) - cpu_before
            elapsed = max(done.values()) - min(pushed.values())
            throughput = len(done) / elapsed

            paced_users = range(20_000_000, 20_000_000 + args.latency_checkins)
            paced = await drive(api, venues, paced_users, throughput * 0.5)
            paced_done = await wait_for_confirmations(api, paced_users, 600)
            latencies = sorted((paced_done[u] - paced[u]) * 1000 for u in paced_users)
        finally:
            bot.terminate()
            await bot.wait()
    visits = await repos.db["visits"].count_documents({})
    await repos.close()
    return {
        "throughput": throughput,
        "cpu_used": cpu_used,
        "p50": statistics.median(latencies),
        "p99": latencies[int(len(latencies) * 0.99) - 1],
        "raw_seq": raw_seq,
        "raw_conc": raw_conc,
        "visits": visits,
    }


def report(args: argparse.Namespace, figures: dict[str, float]) -> None:
    throughput, cpu_used, raw_seq, raw_conc = (
        figures["throughput"], figures["cpu_used"], figures["raw_seq"], figures["raw_conc"]
    )  # fmt: skip
    p50, p99, visits = figures["p50"], figures["p99"], int(figures["visits"])
    cpu_ms = cpu_used * 1000 / args.checkins
    print(f"check-ins (burst of {args.checkins} distinct users, {args.venues} venues)")
    print(f"  end-to-end check-ins/s        {throughput:8.1f}")
    print(f"  bot CPU ms per check-in       {cpu_ms:8.2f}")
    print(f"latency at 50% of that rate ({args.latency_checkins} check-ins)")
    print(f"  p50 ms                        {p50:8.1f}")
    print(f"  p99 ms                        {p99:8.1f}")
    print("raw insert_one on the same server")
    print(f"  1 client, sequential /s       {raw_seq:8.1f}")
    print(f"  16 concurrent /s              {raw_conc:8.1f}")
    print(f"end-to-end / raw sequential     {throughput / raw_seq:8.0%}")
    print(f"visits stored                   {visits}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--checkins", type=int, default=3000)
    parser.add_argument("--latency-checkins", type=int, default=600)
    parser.add_argument("--venues", type=int, default=200)
    parser.add_argument("--raw", type=int, default=3000)
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="run the bot through this script instead of `-m bot run` (e.g. a profiler wrapper)",
    )
    asyncio.run(main(parser.parse_args()))
