"""The officials' dashboard at scale: server time of the overview and the follow-up list for a city.

    python bench/dashboard_pages.py --quick    # 20,000 venues x 10,000 check-ins a day (a minute or two)
    python bench/dashboard_pages.py            # Hanoi: 605,000 venues x 305,000 check-ins a day (~25 min)

Loads the demo city through the bulk loader into a fresh embedded server, then times what each page
reads (through the dashboard's own data module) and renders (its Jinja templates), without HTTP.
"""

from __future__ import annotations

import argparse
import asyncio
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

from bot.app.container import build_container
from bot.app.dashboard import data
from bot.app.embedded import EmbeddedDatabase
from bot.app.settings import Settings
from bot.clock import ManualClock, local_day
from bot.demo import DemoData, DemoSpec
from bot.regions import load_catalogue
from storage.bulk import run_bulk_load
from storage.database import Repos
from storage.probe import ping

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
HANOI = {"venues": 605_000, "days": 7, "checkins_per_day": 305_000}
QUICK = {"venues": 20_000, "days": 7, "checkins_per_day": 10_000}


async def timed_runs(runs: int, action: Callable[[], Awaitable[Any]]) -> tuple[list[float], Any]:
    """Run `action` once to warm the server's caches, then `runs` times; the seconds of each timed run."""
    result = await action()
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        result = await action()
        seconds.append(time.perf_counter() - started)
    return seconds, result


def show(label: str, seconds: list[float], extra: str = "") -> None:
    print(
        f"{label:<40} p50 {statistics.median(seconds) * 1000:7.0f} ms, max {max(seconds) * 1000:7.0f} ms {extra}",
        flush=True,
    )


async def main(args: argparse.Namespace) -> None:
    scale = QUICK if args.quick else HANOI
    regions = load_catalogue()
    hanoi = regions.match_province("Hà Nội")
    now = datetime.now(UTC)
    last_day = local_day(now, TZ) - timedelta(days=1)
    spec = DemoSpec(
        region=hanoi,
        venues=scale["venues"],
        days=scale["days"],
        checkins_per_day=scale["checkins_per_day"],
        last_day=last_day,
        seed=1,
    )
    with tempfile.TemporaryDirectory(prefix="quetma-dash-") as data_dir:
        server = EmbeddedDatabase(Path(data_dir), ping=ping)
        uri = await server.start()
        repos = Repos.open(uri, "dash", tz=TZ, retention_days=21)
        try:
            await repos.ensure_indexes()
            demo = DemoData(spec, regions, TZ)
            started = time.perf_counter()
            await run_bulk_load(
                repos,
                await asyncio.to_thread(demo.venues),
                demo.visits,
                tz=TZ,
                retention_days=21,
                defer_indexes=True,
            )
            print(f"loaded {scale} in {time.perf_counter() - started:.0f} s", flush=True)
            settings = Settings(_env_file=None, tz_name="Asia/Ho_Chi_Minh")  # type: ignore[call-arg]
            container = await build_container(settings, repos, clock=ManualClock(now))

            async def overview() -> Any:
                report = await data.region_report(container, hanoi.id, last_day)
                series = await data.daily_series(container, hanoi.id, last_day)
                rows = await data.child_rows(container, hanoi.id, last_day)
                return report, series, rows

            seconds, (report, _series, rows) = await timed_runs(args.runs, overview)
            show("overview of the city (reads)", seconds, f"{len(rows)} wards, {report.checkins:,} scans")
            parts: dict[str, Callable[[], Awaitable[Any]]] = {
                "  the bulletin (build_report)": lambda: data.region_report(container, hanoi.id, last_day),
                "  the 30-day series": lambda: data.daily_series(container, hanoi.id, last_day),
                "  the wards table": lambda: data.child_rows(container, hanoi.id, last_day),
            }
            for label, part in parts.items():
                seconds, _ = await timed_runs(args.runs, part)
                show(label, seconds)
            ward = max(rows, key=lambda row: row.checkins).region
            seconds, _ = await timed_runs(args.runs, lambda: data.region_report(container, ward, last_day))
            show("overview of its busiest ward (report)", seconds)
            seconds, venues = await timed_runs(
                max(1, args.runs // 3),
                lambda: data.follow_up(container, hanoi.id, data.INACTIVE_DEFAULT_DAYS),
            )
            show("follow-up list of the city (all rows)", seconds, f"{len(venues):,} venues")
            seconds, venues = await timed_runs(args.runs, lambda: data.follow_up(container, ward, 3))
            show("follow-up list of that ward", seconds, f"{len(venues):,} venues")
        finally:
            await repos.close()
            await server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="20,000 venues x 10,000 check-ins a day")
    parser.add_argument("--runs", type=int, default=9)
    asyncio.run(main(parser.parse_args()))
