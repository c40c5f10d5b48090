"""Hanoi's scale: load 605,000 venues and 7 days x 305,000 check-ins into a fresh embedded server, time the city report.

    python bench/report_scale.py            # the full scale (about a quarter of an hour on 2 cores)
    python bench/report_scale.py --quick    # 20,000 venues x 10,000 check-ins a day, a smoke test

Loads through the demo generator and the bulk loader (`quetma demo-data`), then times `build_report` for
the city several times (p50 and max), plus the inactive-venue listing and one contact trace.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app.embedded import EmbeddedDatabase
from bot.clock import local_day
from bot.demo import DemoData, DemoSpec
from bot.regions import load_catalogue
from bot.reports import build_report
from storage.bulk import run_bulk_load
from storage.database import Repos
from storage.probe import ping

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
HANOI = {"venues": 605_000, "days": 7, "checkins_per_day": 305_000}
QUICK = {"venues": 20_000, "days": 7, "checkins_per_day": 10_000}


async def timed(action: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = await action()
    return time.perf_counter() - started, result


def server_cpu_seconds(data_dir: Path) -> float | None:
    """CPU time used so far by the embedded server process (Linux), to tell its work from waiting for a core."""
    try:
        pid = json.loads((data_dir / "secantus.json").read_text())["pid"]
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, ValueError, KeyError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def show(label: str, value: str) -> None:
    print(f"{label:<34} {value}", flush=True)


async def main(args: argparse.Namespace) -> None:
    # SIGTERM (and SIGINT, which background jobs ignore) stop the run and the server cleanly.
    task = asyncio.current_task()
    assert task is not None
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, task.cancel)
    scale = QUICK if args.quick else HANOI
    venues = args.venues or scale["venues"]
    days = args.days or scale["days"]
    per_day = args.checkins_per_day if args.checkins_per_day is not None else scale["checkins_per_day"]
    regions = load_catalogue()
    hanoi = regions.match_province("Hà Nội")
    last_day = local_day(datetime.now(UTC), TZ) - timedelta(days=1)
    spec = DemoSpec(
        region=hanoi, venues=venues, days=days, checkins_per_day=per_day, last_day=last_day, seed=args.seed
    )
    with tempfile.TemporaryDirectory(prefix="quetma-scale-") as data_dir:
        server = EmbeddedDatabase(Path(data_dir), ping=ping)
        uri = await server.start()
        repos = Repos.open(uri, "scale", tz=TZ, retention_days=21)
        try:
            await repos.ensure_indexes()
            demo = DemoData(spec, regions, TZ)
            generation, bulk_venues = await timed(lambda: asyncio.to_thread(demo.venues))
            show(
                "scale",
                f"{venues:,} venues, {days} days x ~{per_day:,} check-ins ({demo.total_checkins:,} in all)",
            )
            show("venue generation", f"{generation:.1f} s")
            written: dict[str, int] = {}
            last_print = [time.perf_counter()]

            def progress(collection: str, n: int) -> None:
                written[collection] = written.get(collection, 0) + n
                if time.perf_counter() - last_print[0] > 30:
                    last_print[0] = time.perf_counter()
                    print(f"  ... {sum(written.values()):,} documents {written}", flush=True)

            server_before = server_cpu_seconds(Path(data_dir))
            client_before = time.process_time()
            load, result = await timed(
                lambda: run_bulk_load(
                    repos,
                    bulk_venues,
                    demo.visits,
                    tz=TZ,
                    retention_days=21,
                    progress=progress,
                    defer_indexes=not args.keep_indexes,
                    batch_size=args.batch,
                )
            )
            show("load (incl. visit generation, indexes)", f"{load:.0f} s = {load / 60:.1f} min")
            show("documents written", f"{result.total:,} ({result.total / load:,.0f} docs/s)")
            show("  of which building indexes", f"{result.indexing_seconds:.0f} s")
            client_cpu = time.process_time() - client_before
            server_after = server_cpu_seconds(Path(data_dir))
            if server_before is not None and server_after is not None:
                server_cpu = server_after - server_before
                show("CPU during the load", f"server {server_cpu:.0f} s, loader {client_cpu:.0f} s")
                # On an idle 2-core machine the two processes overlap: the load takes at least the larger
                # of the two CPU times and at most their sum.
                show(
                    "  idle 2-core estimate",
                    f"{max(server_cpu, client_cpu) / 60:.1f} .. {(server_cpu + client_cpu) / 60:.1f} min",
                )
            show("load average (1, 5, 15 min)", " ".join(f"{x:.1f}" for x in os.getloadavg()))
            for name, count in sorted(result.written.items()):
                show(f"  {name}", f"{count:,}")

            report_times = []
            report = None
            for _ in range(args.runs + 1):
                seconds, report = await timed(lambda: build_report(repos.stats, regions, hanoi.id, last_day))
                report_times.append(seconds)
            report_times = report_times[1:]  # the first run warms the server's caches
            show(
                f"city report ({args.runs} runs)",
                f"p50 {statistics.median(report_times) * 1000:.0f} ms, max {max(report_times) * 1000:.0f} ms",
            )
            assert report is not None
            figures = report.to_json()
            children = figures.pop("children")
            for key, value in figures.items():
                show(f"  {key}", f"{value:,}" if isinstance(value, int | float) else str(value))
            show("  children ranked", str(len(children)))

            cutoff = (last_day + timedelta(days=1) - timedelta(days=3)).isoformat()
            since = (last_day + timedelta(days=1) - timedelta(days=2)).isoformat()
            seconds, inactive = await timed(
                lambda: repos.venues.inactive(hanoi.id, registered_by=cutoff, no_checkin_since=since)
            )
            show("inactive venues listing (/inactive)", f"{len(inactive):,} venues in {seconds:.1f} s")
            busiest = await repos.db["venue_days"].find_one(
                {"day": last_day.isoformat()}, sort=[("checkins", -1)]
            )
            if busiest is not None:
                start = datetime(last_day.year, last_day.month, last_day.day, 8, tzinfo=TZ)
                code, end = busiest["venue_code"], start + timedelta(hours=10)
                trace_times = []
                visits: list[Any] = []
                for _ in range(args.runs):
                    seconds, visits = await timed(lambda: repos.checkins.overlapping(code, start, end))
                    trace_times.append(seconds)
                show(
                    f"trace of the busiest venue ({args.runs} runs)",
                    f"{len(visits):,} visits, p50 {statistics.median(trace_times) * 1000:.0f} ms, "
                    f"max {max(trace_times) * 1000:.0f} ms",
                )
        finally:
            await repos.close()
            await server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="20,000 venues x 10,000 check-ins a day")
    parser.add_argument("--venues", type=int)
    parser.add_argument("--days", type=int)
    parser.add_argument("--checkins-per-day", type=int)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=9, help="timed report runs after one warm-up")
    parser.add_argument("--batch", type=int, default=4_000, help="documents per insert_many")
    parser.add_argument("--keep-indexes", action="store_true", help="maintain indexes while loading")
    asyncio.run(main(parser.parse_args()))
