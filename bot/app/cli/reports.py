"""`quetma report`: a day's figures for a region."""

from __future__ import annotations

import argparse
import json
from datetime import date

from bot.app.cli import EXIT_OK, CliEnv, CliError, cli_app
from bot.i18n import gettext_for
from bot.officials import CLI_ACTOR, Access, Refused
from bot.regions import UnknownRegion
from bot.reports import render_report


def parse_day(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise CliError(f"{raw!r} is not a date written YYYY-MM-DD") from None


async def report(args: argparse.Namespace, env: CliEnv) -> int:
    day = parse_day(args.date) if args.date else None
    async with cli_app(env) as cli:
        officials = cli.container.officials
        # The operator sees the whole country, as an admin does.
        access = Access(CLI_ACTOR.user_id, cli.container.regions.country().id, admin=True)
        try:
            figures = await officials.reports.region_report(access, day=day, place=args.region)
        except UnknownRegion as exc:
            raise CliError(str(exc)) from None
        except Refused as refusal:
            raise CliError(refusal.text(gettext_for("en"))) from None
    if args.json:
        env.out(json.dumps(figures.to_json(), ensure_ascii=False))
    else:
        env.out(render_report(figures, gettext_for(args.lang), args.lang))
    return EXIT_OK


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("report", help="a day's check-in figures for a region")
    parser.add_argument("--date", metavar="YYYY-MM-DD", help="local day (default: yesterday)")
    parser.add_argument("--region", help='a region name or id (default: the whole country), e.g. "Hà Nội"')
    parser.add_argument("--json", action="store_true", help="one JSON object")
    parser.add_argument("--lang", choices=["vi", "en"], default="vi")
    parser.set_defaults(handler=report)
