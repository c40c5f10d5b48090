"""`quetma venue add|list` and `quetma poster`."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from bot.app.cli import EXIT_OK, CliEnv, CliError, cli_app
from bot.payload import normalize_code
from bot.poster import poster_format_for, render_poster, render_qr_svg
from bot.regions import Region, RegionCatalogue, UnknownRegion
from bot.venues import InvalidInput, poster_card, region_label, venue_request, ward_named


def region_from_args(regions: RegionCatalogue, province: str, ward: str | None) -> Region:
    try:
        found = regions.match_province(province)
        if ward:
            found = ward_named(regions, found, ward)
    except UnknownRegion as exc:
        raise CliError(str(exc)) from None
    return found


async def venue_add(args: argparse.Namespace, env: CliEnv) -> int:
    async with cli_app(env, need_username=True) as cli:
        region = region_from_args(cli.container.regions, args.province, args.ward)
        try:
            request = venue_request(
                name=args.name,
                address=args.address,
                region=region,
                category=args.category,
                capacity=args.capacity,
                owner_id=args.owner,
            )
        except InvalidInput as exc:
            raise CliError(f"{exc}") from None
        venue = await cli.container.venues.register(request)
        env.out(f"{venue.code} {cli.links.checkin(venue.code)}")
        env.out(f"region: {region_label(cli.container.regions, venue)} ({venue.region_id})")
    return EXIT_OK


async def venue_list(args: argparse.Namespace, env: CliEnv) -> int:
    async with cli_app(env) as cli:
        regions = cli.container.regions
        region = regions.resolve(args.region).id if args.region else None
        for venue in await cli.container.venues.in_region(region):
            state = "active" if venue.active else "inactive"
            label = region_label(regions, venue)
            env.out(f"{venue.code}\t{state}\t{venue.name}\t{venue.address}\t{label}")
    return EXIT_OK


async def poster(args: argparse.Namespace, env: CliEnv) -> int:
    code = normalize_code(args.code)
    if code is None:
        raise CliError(f"{args.code!r} is not a venue code (8 letters and digits)")
    try:
        fmt = poster_format_for(args.output)
    except ValueError:
        raise CliError("the output file must end in .png, .pdf or .svg") from None
    async with cli_app(env, need_username=True) as cli:
        venue = await cli.container.venues.get(code)
        if venue is None:
            raise CliError(f"no venue with code {code}")
        link = cli.links.checkin(venue.code)
        if fmt == "svg":
            data = render_qr_svg(link)
        else:
            data = render_poster(poster_card(venue, cli.container.regions, link), fmt)
    await asyncio.to_thread(Path(args.output).write_bytes, data)
    env.out(f"{args.output} ({len(data)} bytes) for {venue.code} {link}")
    return EXIT_OK


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    venue = sub.add_parser("venue", help="register and list venues")
    venue_sub = venue.add_subparsers(dest="venue_command", required=True, metavar="ACTION")
    add = venue_sub.add_parser("add", help="register a venue and print its code and deep link")
    add.add_argument("--name", required=True)
    add.add_argument("--address", required=True)
    add.add_argument("--province", required=True, help='e.g. "Hà Nội" or "ha noi"')
    add.add_argument("--ward", help='e.g. "Ba Đình"')
    add.add_argument("--category", default="other")
    add.add_argument("--capacity", help='people at once, e.g. "40"')
    add.add_argument("--owner", type=int, metavar="TELEGRAM_USER_ID")
    add.set_defaults(handler=venue_add)
    listing = venue_sub.add_parser("list", help="one venue per line, code first")
    listing.add_argument("--region")
    listing.set_defaults(handler=venue_list)
    post = sub.add_parser("poster", help="write a venue's poster (.png/.pdf) or bare QR (.svg)")
    post.add_argument("code", metavar="VENUE_CODE")
    post.add_argument("-o", "--output", required=True, metavar="FILE")
    post.set_defaults(handler=poster)
