"""End-to-end check-in throughput: QuetMa beside a naive peer bot, on one server and one Bot API double.

One run starts one embedded SecantusDB server and one Bot API double (`tests/botapi.py`), then runs
two bots against them, one at a time, each as its own process over long polling:

- **QuetMa** (`python -m bot run`, database `bench`);
- **the naive peer** (`bench/naive_peer.py`, database `bench_peer`): PTB defaults,
  `concurrent_updates(64)`, PyMongo async, five database commands and one reply per check-in.

Every client (both bots, this script) connects with the embedded server's URI, which turns
retryable writes off. Both databases hold the same venues (codes, names, wards). For each bot,
after a warm-up of 50 check-ins:

1. **first contact, burst**: `--checkins` new users each scan a poster, all pushed at once;
2. **returning citizens, burst**: the same users scan again at another venue, all at once (the same
   day, so QuetMa counts a second visit of the day for each person, not a re-scan);
3. **steady**: new users scan at `--steady` per second for `--seconds` seconds.

Per phase: check-ins per second (confirmed ÷ time from the first push to the last confirmation),
p50/p99 from the update being queued at the double to the confirmation arriving there, the bot's
and the server's CPU milliseconds per check-in (from /proc), the server's commands per check-in
(serverStatus opcounters, when the server reports them; driver heartbeats and QuetMa's background
jobs included) and the Bot API requests per check-in other than getUpdates. The raw `insert_one`
rate of the same server is measured first. With `--rounds N` the pair of bots runs N times, the
order swapped each round; the table gives each figure's median and each ratio's median of the
per-round ratios. `--json` prints every figure, per round too, as JSON instead of the table.

Bot, server and the double share the machine's cores: take final figures on a quiet machine, and
read the QuetMa ÷ peer ratios, measured in the same run, before the absolute rates.

    python bench/checkin_throughput.py                              # 600 users, 60/s for 60 s
    python bench/checkin_throughput.py --steady 60 --seconds 300    # the issue's steady target
    python bench/checkin_throughput.py --checkins 150 --steady 30 --seconds 10 --raw 500 --venues 50
        # a quick check that everything works (about 70 s; the figures are too small to quote)
    python bench/checkin_throughput.py --rounds 3 --json > figures.json
    python bench/checkin_throughput.py --only quetma --profile wrapper.py  # QuetMa under a profiler
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app.embedded import RECORD_FILE, EmbeddedDatabase  # noqa: E402
from bot.app.processes import free_port  # noqa: E402
from bot.payload import PayloadKind, new_venue_code, sign_payload  # noqa: E402
from bot.regions import load_catalogue  # noqa: E402
from storage.database import Repos  # noqa: E402
from storage.models import NewVenue  # noqa: E402
from storage.probe import ping  # noqa: E402
from tests import factories  # noqa: E402
from tests.botapi import ApiCall, BotApiDouble  # noqa: E402
from tests.harness import TEST_TOKEN  # noqa: E402

SECRET = "bench-secret"  # noqa: S105 - a throwaway signing key for a throwaway database
TICKS = os.sysconf("SC_CLK_TCK")
QUETMA_DB = "bench"
PEER_DB = "bench_peer"
BOTS = ("quetma", "peer")
PHASES = ("first", "returning", "steady")
PHASE_TITLES = {"first": "first contact, burst", "returning": "returning citizens, burst", "steady": "steady"}
WARM_UP = 50
MARK = "Điểm"  # every venue's name starts with it, so every confirmation carries it


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(fraction * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


@dataclass(frozen=True)
class Venue:
    code: str
    name: str
    region: str
    payload: str


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
    rate = count / (time.perf_counter() - started)
    await collection.drop()
    return rate


async def make_venues(repos: Repos, count: int) -> list[Venue]:
    """The same venues in QuetMa's database and in the peer's."""
    regions = load_catalogue()
    hanoi = regions.match_province("Hà Nội")
    wards = regions.wards(hanoi.id)
    venues = []
    for i in range(count):
        ward = wards[i % len(wards)]
        venue = await repos.venues.create(
            NewVenue(name=f"{MARK} {i:04d}", address=f"{i} Phố Huế", category="shop", regions=ward.path),
            now=datetime.now(UTC),
            day="2026-11-22",
            new_code=new_venue_code,
        )
        payload = sign_payload(SECRET.encode(), PayloadKind.CHECKIN, venue.code)
        venues.append(Venue(venue.code, venue.name, ward.path[-1], payload))
    peer = repos.client[PEER_DB]
    await peer.drop_collection("venues")
    await peer["venues"].insert_many([{"_id": v.code, "name": v.name, "region": v.region} for v in venues])
    return venues


async def server_commands(repos: Repos) -> int | None:
    """Commands the server has answered so far (serverStatus opcounters), None if it does not say."""
    try:
        status = await repos.client.admin.command("serverStatus")
        counters = status["opcounters"]
        return int(sum(v for v in counters.values() if isinstance(v, int | float)))
    except Exception:
        return None


@dataclass
class Phase:
    """One measured phase of one bot."""

    checkins: int = 0
    confirmed: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    bot_cpu: float = 0.0
    server_cpu: float = 0.0
    commands: int | None = None
    requests: int = 0

    def figures(self) -> dict[str, float | None]:
        lat = sorted(self.latencies_ms)
        n = max(self.confirmed, 1)
        return {
            "checkins": self.checkins,
            "confirmed": self.confirmed,
            "seconds": self.seconds,
            "per_second": self.confirmed / self.seconds if self.seconds else 0.0,
            "bot_cpu_ms": self.bot_cpu * 1000 / n,
            "server_cpu_ms": self.server_cpu * 1000 / n,
            "commands": self.commands / n if self.commands is not None else None,
            "requests": self.requests / n,
            "p50_ms": percentile(lat, 0.50),
            "p99_ms": percentile(lat, 0.99),
            "max_ms": lat[-1] if lat else float("nan"),
        }


class Runner:
    """Runs one bot process through the phases against the shared double and server."""

    def __init__(
        self,
        args: argparse.Namespace,
        api: BotApiDouble,
        repos: Repos,
        uri: str,
        tmp: str,
        server_pid: int,
        venues: list[Venue],
    ) -> None:
        self.args, self.api, self.repos, self.uri, self.tmp = args, api, repos, uri, tmp
        self.server_pid, self.venues = server_pid, venues

    def command(self, bot: str) -> tuple[list[str], dict[str, str]]:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(ROOT),
            "BOT_TOKEN": TEST_TOKEN,
            "TELEGRAM_API_URL": self.api.url,
            "MONGODB_URI": self.uri,
            "QUETMA_SECRET": SECRET,
        }
        if bot == "peer":
            return [str(ROOT / "bench" / "naive_peer.py")], {**env, "PEER_DB": PEER_DB}
        command = [self.args.profile] if self.args.profile else ["-m", "bot", "run"]
        web = {"HOST": "127.0.0.1", "PORT": str(free_port("127.0.0.1"))}
        return command, {**env, **web, "QUETMA_DB": QUETMA_DB, "QUETMA_LOG_LEVEL": "WARNING"}

    async def run(self, bot: str, first_user: int) -> dict[str, Phase]:
        """Start `bot`, warm it up, measure every phase, stop it."""
        command, env = self.command(bot)
        log_path = Path(self.tmp) / f"{bot}-{first_user}.log"
        with log_path.open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                sys.executable, *command, cwd=self.tmp, env=env, stdout=log, stderr=log
            )
        try:
            await self.api.wait_for_poll(timeout=60)
            await self.burst(process.pid, range(first_user, first_user + WARM_UP), shift=0)
            users = range(first_user + WARM_UP, first_user + WARM_UP + self.args.checkins)
            phases = {
                "first": await self.burst(process.pid, users, shift=0),
                "returning": await self.burst(process.pid, users, shift=1),
            }
            if self.args.seconds > 0:
                steady = int(self.args.steady * self.args.seconds)
                start = users.stop
                phases["steady"] = await self.paced(process.pid, range(start, start + steady))
            return phases
        except BaseException:
            tail = log_path.read_text(errors="replace")[-3000:]
            print(f"--- {bot} log ({log_path}) ---\n{tail}", file=sys.stderr)
            raise
        finally:
            if process.returncode is None:
                process.terminate()
            if await process.wait() != 0:
                tail = log_path.read_text(errors="replace")[-3000:]
                progress(f"{bot} exited with status {process.returncode} on SIGTERM; its log ends:\n{tail}")

    def update(self, user: int, shift: int) -> dict[str, Any]:
        venue = self.venues[(user + shift) % len(self.venues)]
        return factories.message_update(user, f"/start {venue.payload}")

    async def measured(self, pid: int, users: range, push: Callable[[dict[int, float]], Any]) -> Phase:
        """Clear the double's record, push the scans with `push`, wait for every confirmation."""
        self.api.clear()
        commands_before = await server_commands(self.repos)
        bot_before, server_before = cpu_seconds(pid), cpu_seconds(self.server_pid)
        pushed: dict[int, float] = {}
        await push(pushed)
        timeout = 120 + len(users) / 5
        await self.api.wait_for(
            "sendMessage", count=len(users), predicate=first_per_chat(users), timeout=timeout
        )
        bot_cpu, server_cpu = cpu_seconds(pid) - bot_before, cpu_seconds(self.server_pid) - server_before
        commands_after = await server_commands(self.repos)
        done = confirmations(self.api.calls, users)
        commands = None
        if commands_before is not None and commands_after is not None:
            commands = commands_after - commands_before - 1  # the serverStatus before
        return Phase(
            checkins=len(users),
            confirmed=len(done),
            seconds=max(done.values()) - min(pushed.values()),
            latencies_ms=[(done[u] - pushed[u]) * 1000 for u in done],
            bot_cpu=bot_cpu,
            server_cpu=server_cpu,
            commands=commands,
            requests=sum(1 for call in self.api.calls if call.method != "getUpdates"),
        )

    async def burst(self, pid: int, users: range, shift: int) -> Phase:
        updates = [(user, self.update(user, shift)) for user in users]

        async def push(pushed: dict[int, float]) -> None:
            for user, update in updates:
                pushed[user] = time.monotonic()
                self.api.push_update(update)

        return await self.measured(pid, users, push)

    async def paced(self, pid: int, users: range) -> Phase:
        interval = 1 / self.args.steady

        async def push(pushed: dict[int, float]) -> None:
            start = time.monotonic()
            for n, user in enumerate(users):
                delay = start + n * interval - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                update = self.update(user, 0)
                pushed[user] = time.monotonic()
                self.api.push_update(update)

        return await self.measured(pid, users, push)


def confirms(users: range) -> Callable[[ApiCall], bool]:
    def predicate(call: ApiCall) -> bool:
        text = call.text
        return bool(text and MARK in text and call.params.get("chat_id") in users)

    return predicate


def first_per_chat(users: range) -> Callable[[ApiCall], bool]:
    """Like `confirms`, but true only for a chat's first confirmation: counts users, not messages."""
    match, seen = confirms(users), set()

    def predicate(call: ApiCall) -> bool:
        if not match(call) or call.params["chat_id"] in seen:
            return False
        seen.add(call.params["chat_id"])
        return True

    return predicate


def confirmations(calls: list[ApiCall], users: range) -> dict[int, float]:
    """When each user's first confirmation arrived at the double."""
    seen: dict[int, float] = {}
    match = confirms(users)
    for call in calls:
        if call.method == "sendMessage" and match(call):
            seen.setdefault(int(call.params["chat_id"]), call.at)
    return seen


def server_pid_of(data_dir: str) -> int:
    return int(json.loads((Path(data_dir) / RECORD_FILE).read_text())["pid"])


async def main(args: argparse.Namespace) -> None:
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="quetma-bench-") as tmp:
        async with EmbeddedDatabase(Path(tmp), ping=ping) as server:
            results = await measure(args, server.uri, tmp, server_pid_of(tmp))
    results["load_average"] = {"before": load_before[0], "after": os.getloadavg()[0]}
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        report(args, results)


async def measure(args: argparse.Namespace, uri: str, tmp: str, server_pid: int) -> dict[str, Any]:
    """Run every measurement against the server at `uri`."""
    repos = Repos.open(uri, QUETMA_DB, tz=ZoneInfo("Asia/Ho_Chi_Minh"), retention_days=21)
    await repos.ensure_indexes()
    progress("raw insert_one rate")
    raw = {
        "sequential": await raw_insert_rate(repos, args.raw, 1),
        "concurrent_16": await raw_insert_rate(repos, args.raw, 16),
    }
    venues = await make_venues(repos, args.venues)
    bots = [args.only] if args.only else list(BOTS)
    rounds: list[dict[str, dict[str, dict[str, float | None]]]] = []
    async with BotApiDouble(clock=time.monotonic) as api:
        runner = Runner(args, api, repos, uri, tmp, server_pid, venues)
        for number in range(args.rounds):
            figures: dict[str, dict[str, dict[str, float | None]]] = {}
            for bot in bots if number % 2 == 0 else bots[::-1]:
                progress(f"round {number + 1}/{args.rounds}: {bot}")
                phases = await runner.run(bot, first_user=10_000_000 * (1 + 2 * number + bots.index(bot)))
                figures[bot] = {name: phase.figures() for name, phase in phases.items()}
            rounds.append(figures)
    per_round = args.checkins * 2 + WARM_UP + int(args.steady * args.seconds if args.seconds > 0 else 0)
    stored = {
        "quetma": await repos.db["visits"].count_documents({}),
        "peer": await repos.client[PEER_DB]["visits"].count_documents({}),
    }
    await repos.close()
    return {
        "settings": {
            "checkins": args.checkins,
            "venues": args.venues,
            "steady_rate": args.steady,
            "steady_seconds": args.seconds,
            "rounds": args.rounds,
        },
        "raw_insert_one_per_second": raw,
        "median": median_of(rounds),
        "ratios": ratios(rounds) if len(bots) == 2 else {},
        "rounds": rounds,
        "visits": {bot: {"stored": stored[bot], "expected": per_round * args.rounds} for bot in bots},
    }


def median_of(rounds: list[dict[str, dict[str, dict[str, float | None]]]]) -> dict[str, Any]:
    """Each figure's median over the rounds."""
    merged: dict[str, Any] = {}
    for bot, phases in rounds[0].items():
        merged[bot] = {}
        for phase, figures in phases.items():
            merged[bot][phase] = {}
            for key in figures:
                values = [r[bot][phase][key] for r in rounds]
                present = [v for v in values if v is not None]
                merged[bot][phase][key] = statistics.median(present) if present else None
    return merged


def ratios(rounds: list[dict[str, dict[str, dict[str, float | None]]]]) -> dict[str, Any]:
    """QuetMa ÷ peer within each round (the same machine state), and their median."""
    out: dict[str, Any] = {}
    for phase in rounds[0]["quetma"]:
        for key in ("per_second", "bot_cpu_ms"):
            values = []
            for r in rounds:
                q, p = r["quetma"][phase][key], r["peer"][phase][key]
                if q is not None and p:
                    values.append(q / p)
            out[f"{phase}.{key}"] = {"median": statistics.median(values), "rounds": values}
    return out


def progress(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def report(args: argparse.Namespace, results: dict[str, Any]) -> None:
    median, ratio = results["median"], results["ratios"]
    bots = list(median)
    names = {"quetma": "QuetMa", "peer": "naive peer"}
    rounds = f", median of {args.rounds} rounds" if args.rounds > 1 else ""
    header = f"{'':34}" + "".join(f"{names[b]:>12}" for b in bots) + ("   QuetMa ÷ peer" if ratio else "")
    print(f"check-ins, {args.venues} venues{rounds}")
    print(header)
    rows = [
        ("check-ins/s", "per_second", "{:12.1f}", True),
        ("bot CPU ms / check-in", "bot_cpu_ms", "{:12.2f}", True),
        ("server CPU ms / check-in", "server_cpu_ms", "{:12.2f}", False),
        ("server commands / check-in", "commands", "{:12.1f}", False),
        ("Bot API requests / check-in", "requests", "{:12.1f}", False),
        ("p50 ms (queued -> confirmed)", "p50_ms", "{:12.1f}", False),
        ("p99 ms", "p99_ms", "{:12.1f}", False),
        ("max ms", "max_ms", "{:12.1f}", False),
    ]
    for phase in PHASES:
        if phase not in median[bots[0]]:
            continue
        if phase == "steady":
            title = f"steady, {args.steady:g}/s for {args.seconds:g} s, new users"
            rows_here = [("achieved check-ins/s", *rows[0][1:]), *rows[1:]]
        else:
            title = f"{PHASE_TITLES[phase]} of {args.checkins}"
            rows_here = rows
        print(title)
        for label, key, fmt, with_ratio in rows_here:
            cells = []
            for bot in bots:
                value = median[bot][phase][key]
                cells.append(f"{'–':>12}" if value is None else fmt.format(value))
            line = f"  {label:32}" + "".join(cells)
            if ratio and with_ratio:
                line += f"   {ratio[f'{phase}.{key}']['median']:8.2f}×"
            print(line)
    raw = results["raw_insert_one_per_second"]
    print("raw insert_one on the same server")
    print(f"  1 client, sequential /s         {raw['sequential']:12.1f}")
    print(f"  16 concurrent /s                {raw['concurrent_16']:12.1f}")
    for bot, visits in results["visits"].items():
        print(f"visits stored, {names[bot]:19} {visits['stored']:12d} (expected {visits['expected']})")
    load = results["load_average"]
    print(f"load average (1 min)              {load['before']:12.2f} before, {load['after']:.2f} after")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--checkins", type=int, default=600, help="users in each burst (default 600)")
    parser.add_argument("--venues", type=int, default=200)
    parser.add_argument("--steady", type=float, default=60.0, metavar="RATE", help="check-ins/s (60)")
    parser.add_argument("--seconds", type=float, default=60.0, help="steady phase length, 0 skips it (60)")
    parser.add_argument("--raw", type=int, default=3000, help="documents for the raw insert_one rate")
    parser.add_argument("--rounds", type=int, default=1, help="run both bots this many times (1)")
    parser.add_argument("--only", choices=BOTS, help="run one bot only (no ratios)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="run QuetMa through this script instead of `-m bot run` (e.g. a profiler wrapper)",
    )
    asyncio.run(main(parser.parse_args()))
