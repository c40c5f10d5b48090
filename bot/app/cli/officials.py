"""`quetma official invite|list|revoke`, `quetma audit` and `quetma demo-data`."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date, timedelta
from typing import TextIO

from bot import officials
from bot.app.cli import EXIT_OK, CliEnv, CliError, cli_app
from bot.clock import local_day
from bot.demo import DemoData, DemoSpec
from bot.payload import PayloadKind
from bot.regions import Region, RegionCatalogue, UnknownRegion
from storage.bulk import run_bulk_load
from storage.invites import InviteKind

DEFAULT_DEMO_REGION = "Hà Nội"
PROGRESS_WIDTH = 30


def resolve(regions: RegionCatalogue, text: str) -> Region:
    try:
        return regions.resolve(text)
    except UnknownRegion as exc:
        raise CliError(str(exc)) from None


async def official_invite(args: argparse.Namespace, env: CliEnv) -> int:
    try:
        ttl = officials.parse_duration(args.expires)
    except ValueError as exc:
        raise CliError(f"--expires: {exc}") from None
    async with cli_app(env, need_username=True) as cli:
        regions = cli.container.regions
        region = resolve(regions, args.region)
        invite = await cli.container.create_invite(InviteKind.OFFICIAL, region.id, officials.CLI_ACTOR, ttl)
        link = cli.links.to(PayloadKind.OFFICIAL_INVITE, invite.token)
        until = invite.expires_at.astimezone(env.settings.tz)
        env.out(link)
        print(
            f"one-time invite for an official of {regions.label(region.id)} ({region.id}), "
            f"valid until {until:%Y-%m-%d %H:%M} {env.settings.tz_name}",
            file=sys.stderr,
        )
    return EXIT_OK


async def official_list(args: argparse.Namespace, env: CliEnv) -> int:
    async with cli_app(env) as cli:
        regions = cli.container.regions
        for official in await cli.container.officials.roster.all():
            since = official.since.astimezone(env.settings.tz)
            env.out(
                f"{official.user_id}\t{official.region}\t{officials.region_label(regions, official.region)}"
                f"\t{official.name}\t{since:%Y-%m-%d %H:%M}"
            )
    return EXIT_OK


async def official_revoke(args: argparse.Namespace, env: CliEnv) -> int:
    async with cli_app(env) as cli:
        revoked = await cli.container.officials.roster.revoke(officials.CLI_ACTOR, args.user_id)
        if revoked is None:
            raise CliError(f"no official with Telegram user id {args.user_id}")
        env.out(f"revoked {revoked.user_id} {revoked.name} ({revoked.region})")
    return EXIT_OK


def parse_day(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise CliError(f"{raw!r} is not a date written YYYY-MM-DD") from None


async def audit_log(args: argparse.Namespace, env: CliEnv) -> int:
    tz = env.settings.tz
    day = parse_day(args.since) if args.since else None
    async with cli_app(env) as cli:
        try:
            entries = await cli.container.officials.audit.since(day)
        except officials.BadInput:
            raise CliError(f"{args.since!r} is not a date written YYYY-MM-DD") from None
    for entry in reversed(entries):
        window = ["", ""]
        if entry.window_start and entry.window_end:
            window = [
                f"{moment.astimezone(tz):%Y-%m-%d %H:%M}" for moment in (entry.window_start, entry.window_end)
            ]
        fields = [
            f"{entry.at.astimezone(tz):%Y-%m-%d %H:%M:%S}",
            str(entry.actor_id),
            entry.actor_name,
            entry.action,
            entry.region or "",
            entry.venue_code or "",
            *window,
            "" if entry.rows is None else str(entry.rows),
            entry.detail,
        ]
        env.out("\t".join(field.replace("\t", " ") for field in fields))
    return EXIT_OK


class ProgressBar:
    """A one-line progress bar on stderr (a line per 10 % when stderr is not a terminal)."""

    def __init__(
        self, total: int, stream: TextIO, *, counted: tuple[str, ...] = ("venues", "visits")
    ) -> None:
        self._total = max(1, total)
        self._stream = stream
        self._counted = counted
        self._done = 0
        self._written: dict[str, int] = {}
        self._started = time.monotonic()
        self._interactive = stream.isatty()
        self._last_shown = -1.0
        self._last_tenth = -1

    def advance(self, collection: str, n: int) -> None:
        self._written[collection] = self._written.get(collection, 0) + n
        if collection in self._counted:
            self._done = min(self._total, self._done + n)
        fraction = self._done / self._total
        now = time.monotonic()
        if self._interactive:
            if now - self._last_shown >= 0.2 or fraction >= 1:
                self._last_shown = now
                self._stream.write("\r" + self.line())
                self._stream.flush()
        elif int(fraction * 10) > self._last_tenth:
            self._last_tenth = int(fraction * 10)
            self._stream.write(self.line() + "\n")
            self._stream.flush()

    def line(self) -> str:
        fraction = self._done / self._total
        filled = int(fraction * PROGRESS_WIDTH)
        elapsed = int(time.monotonic() - self._started)
        counts = " ".join(f"{name} {count:,}" for name, count in self._written.items())
        bar = "#" * filled + "-" * (PROGRESS_WIDTH - filled)
        return f"[{bar}] {fraction:4.0%} {elapsed // 60}m{elapsed % 60:02d}s {counts}"

    def close(self) -> None:
        """Show the finished bar (a few check-ins may have continued a visit, so counts can fall short)."""
        finished_already = self._done >= self._total and not self._interactive
        self._done = self._total
        if self._interactive:
            self._stream.write("\r" + self.line() + "\n")
        elif not finished_already:
            self._stream.write(self.line() + "\n")
        self._stream.flush()


async def demo_data(args: argparse.Namespace, env: CliEnv) -> int:
    for name in ("venues", "days"):
        if getattr(args, name) < 1:
            raise CliError(f"--{name} must be at least 1")
    if args.checkins_per_day < 0:
        raise CliError("--checkins-per-day must not be negative")
    if args.days > env.settings.retention_days:
        print(
            f"note: visits older than QUETMA_RETENTION_DAYS={env.settings.retention_days} days "
            "will be deleted by their expiry; the daily counters stay",
            file=sys.stderr,
        )
    tz = env.settings.tz
    async with cli_app(env) as cli:
        repos, regions = cli.container.repos, cli.container.regions
        region = resolve(regions, args.region)
        if await repos.venues.count() > 0:
            raise CliError(
                "the database already has venues; load demo data into an empty database "
                "(for example QUETMA_DB=quetma_demo)"
            )
        spec = DemoSpec(
            region=region,
            venues=args.venues,
            days=args.days,
            checkins_per_day=args.checkins_per_day,
            last_day=local_day(cli.container.clock.now(), tz) - timedelta(days=1),
            seed=args.seed,
        )
        demo = DemoData(spec, regions, tz)
        bar = ProgressBar(spec.venues + demo.total_checkins, sys.stderr)
        started = time.monotonic()
        try:
            result = await run_bulk_load(
                repos,
                demo.venues(),
                demo.visits,
                tz=tz,
                retention_days=env.settings.retention_days,
                progress=bar.advance,
                defer_indexes=True,
            )
        except ValueError as exc:  # leftovers of earlier data: the load needs empty collections
            raise CliError(f"{exc}; load demo data into an empty database") from None
        bar.close()
        seconds = time.monotonic() - started
    written = ", ".join(f"{count:,} {name}" for name, count in sorted(result.written.items()))
    env.out(
        f"loaded {spec.first_day} .. {spec.last_day} for {regions.label(region.id)} ({region.id}) "
        f"in {seconds:.0f} s: {written}"
    )
    env.out(f'try: quetma report --region "{region.id}"')
    return EXIT_OK


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    official = sub.add_parser("official", help="invite, list and revoke public-health officials")
    actions = official.add_subparsers(dest="official_command", required=True, metavar="ACTION")
    invite = actions.add_parser("invite", help="print a one-time deep link that makes its opener an official")
    invite.add_argument(
        "--region", required=True, help='a region name or id, e.g. "Hà Nội" or "Ba Đình, Hà Nội"'
    )
    invite.add_argument(
        "--expires", default="72h", help="how long the link works: 90m, 72h, 3d (default 72h)"
    )
    invite.set_defaults(handler=official_invite)
    listing = actions.add_parser("list", help="one official per line: user id, region, name, since")
    listing.set_defaults(handler=official_list)
    revoke = actions.add_parser("revoke", help="remove an official (and their subscriptions)")
    revoke.add_argument("user_id", type=int, metavar="TELEGRAM_USER_ID")
    revoke.set_defaults(handler=official_revoke)

    audit = sub.add_parser("audit", help="the audit log: traces, exposure alerts, invites, revocations")
    audit.add_argument("--since", metavar="YYYY-MM-DD", help="only entries from this local day on")
    audit.set_defaults(handler=audit_log)

    demo = sub.add_parser("demo-data", help="fill an empty database with synthetic venues and check-ins")
    demo.add_argument("--venues", type=int, required=True, metavar="N")
    demo.add_argument("--days", type=int, required=True, metavar="D", help="the D days ending yesterday")
    demo.add_argument("--checkins-per-day", type=int, required=True, metavar="M")
    demo.add_argument("--region", default=DEFAULT_DEMO_REGION, help=f"default: {DEFAULT_DEMO_REGION}")
    demo.add_argument("--seed", type=int, default=1)
    demo.set_defaults(handler=demo_data)
