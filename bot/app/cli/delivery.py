"""`quetma outbox status` and `quetma jobs run`: the delivery engine for operators."""

from __future__ import annotations

import argparse
from datetime import date

from bot.app.cli import EXIT_OK, CliEnv, CliError, cli_app
from bot.app.jobs import INACTIVE, JOB_NAMES, OWNER_SUMMARIES, JobRunner
from bot.app.scheduler import LEASE_NAME, instance_name
from bot.i18n import format_number


def parse_day(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise CliError(f"{raw!r} is not a date written YYYY-MM-DD") from None


def by_reason(counts: dict[str, int]) -> str:
    if not counts:
        return ""
    parts = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return "  (" + ", ".join(f"{reason} {n}" for reason, n in parts) + ")"


def n(value: int) -> str:
    return format_number(value, "en")


async def outbox_status(args: argparse.Namespace, env: CliEnv) -> int:
    async with cli_app(env) as app:
        repos = app.container.repos
        now = app.container.clock.now()
        status = await repos.outbox.status(now)
        lease = await repos.leases.get(LEASE_NAME)
    tz = env.settings.tz
    counts = status.by_state
    oldest = (
        f", oldest due since {status.oldest_due.astimezone(tz):%Y-%m-%d %H:%M}" if status.oldest_due else ""
    )
    env.out(f"queued       {n(counts['pending'])}  (due now {n(status.due_now)}{oldest})")
    env.out(f"sending      {n(counts['sending'])}")
    env.out(f"sent         {n(counts['sent'])}")
    env.out(f"failed       {n(counts['failed'])}{by_reason(status.failed_by_reason)}")
    env.out(f"dropped      {n(counts['dropped'])}{by_reason(status.dropped_by_reason)}")
    env.out(f"unreachable  {n(status.unreachable_recipients)} recipients")
    if lease is not None and lease.expires_at > now:
        env.out(f"sender       {lease.holder} (lease until {lease.expires_at.astimezone(tz):%H:%M:%S})")
    else:
        env.out("sender       none running (no instance holds the lease)")
    return EXIT_OK


async def run_job(args: argparse.Namespace, env: CliEnv) -> int:
    day = parse_day(args.date) if args.date else None
    if args.hour is not None and args.job != OWNER_SUMMARIES:
        raise CliError("--hour only applies to owner-summaries")
    if args.hour is not None and not 0 <= args.hour <= 23:
        raise CliError("--hour must be between 0 and 23")
    async with cli_app(env) as app:
        c = app.container
        runner = JobRunner(
            c.jobs, c.repos.job_runs, clock=c.clock, tz=c.settings.tz, owner=f"cli-{instance_name()}"
        )
        outcome = await runner.run_named(args.job, day, args.hour)
        labels = c.regions
        if args.job == INACTIVE:
            regions: dict[str, int] = outcome.result.get("regions", {})
            env.out(f"{outcome.job} {outcome.period}: {n(len(regions))} regions")
            for region, count in sorted(regions.items(), key=lambda item: (-item[1], item[0])):
                env.out(f"{region}\t{labels.label(region)}\t{n(count)}")
            return EXIT_OK
    details = ", ".join(f"{key} {value}" for key, value in outcome.result.items())
    env.out(f"{outcome.job} {outcome.period}: {details}")
    return EXIT_OK


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    outbox = sub.add_parser("outbox", help="the queue of proactive messages")
    outbox_commands = outbox.add_subparsers(dest="outbox_command", required=True, metavar="COMMAND")
    status = outbox_commands.add_parser(
        "status", help="queued, sent, failed by reason, unreachable recipients, the running sender"
    )
    status.set_defaults(handler=outbox_status)

    jobs = sub.add_parser("jobs", help="scheduled jobs")
    job_commands = jobs.add_subparsers(dest="jobs_command", required=True, metavar="COMMAND")
    run = job_commands.add_parser(
        "run", help="run a job now (messages go through the outbox; a running bot sends them)"
    )
    run.add_argument("job", choices=JOB_NAMES)
    run.add_argument(
        "--date",
        metavar="YYYY-MM-DD",
        help="the day the job is about (default: today for owner-summaries, yesterday otherwise)",
    )
    run.add_argument(
        "--hour", type=int, help="owner-summaries only: venues with this summary hour (default: all)"
    )
    run.set_defaults(handler=run_job)
