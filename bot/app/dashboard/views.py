"""The dashboard's pages: a region's day, its child regions, the follow-up list and its CSV, a venue.

Each view first finds who is looking and checks the region or venue asked for is within their
scope (another region answers 403, an unknown one 404, and nothing is written); then it calls the
same use cases as the chat, through `bot.app.dashboard.data`.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web

from bot.app.dashboard import data
from bot.app.dashboard.auth import Viewer, container_of, current_viewer, fail, see_other
from bot.i18n import N_, format_number, format_signed
from bot.regions import Region
from storage.models import Venue

PAGE_SIZE = 50
SORTS = ("name", "checkins", "visitors", "venues_with_checkins", "share", "inactive_venues")

UNKNOWN_REGION = N_("There is no such region.")
OUTSIDE = N_("This page is outside your area.")
BAD_DAY = N_("Write the date as YYYY-MM-DD, for example 2026-11-18.")
FUTURE_DAY = N_("That day has not come yet.")
BAD_DAYS = N_("Choose a number of days from 1 to 90.")
UNKNOWN_VENUE = N_("There is no such venue.")


def script_json(value: object) -> str:
    """JSON to embed in a <script type="application/json"> element: no `<` can close it."""
    return json.dumps(value).replace("<", "\\u003c")


def render(request: web.Request, template: str, viewer: Viewer, context: dict[str, Any]) -> web.Response:
    _ = viewer.gettext
    lang = viewer.lang
    return aiohttp_jinja2.render_template(
        template,
        request,
        {
            "_": _,
            "lang": lang,
            "viewer": viewer,
            "num": lambda value: format_number(value, lang),
            "signed": lambda value: format_signed(value, lang),
            "here": request.path_qs,
            **context,
        },
    )


def scoped_region(request: web.Request, viewer: Viewer, raw: str | None) -> Region:
    """The region asked for (default: the viewer's own), if it is within their scope."""
    container = container_of(request)
    region = container.regions.get(raw or viewer.access.scope)
    if region is None:
        fail(request, 404, UNKNOWN_REGION, viewer.lang)
    if not data.within(container, region.id, viewer.access.scope):
        fail(request, 403, OUTSIDE, viewer.lang)
    return region


def breadcrumbs(request: web.Request, viewer: Viewer, region: Region) -> list[Region]:
    """The region's ancestors the viewer may open, then the region."""
    regions = container_of(request).regions
    trail = [regions.require(region_id) for region_id in region.path]
    return [r for r in trail if regions.is_within(r.id, viewer.access.scope)]


def chosen_day(request: web.Request, viewer: Viewer) -> date:
    """`?day=YYYY-MM-DD`, by default yesterday (the bulletin's day)."""
    today = data.today(container_of(request))
    raw = request.query.get("day")
    if not raw:
        return today - timedelta(days=1)
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        fail(request, 400, BAD_DAY, viewer.lang)
    if day > today:
        fail(request, 400, FUTURE_DAY, viewer.lang)
    return day


async def home(request: web.Request) -> web.Response:
    """The overview for someone signed in; for anyone else, how to sign in (401)."""
    await current_viewer(request)
    return see_other("/dashboard/overview")


async def overview(request: web.Request) -> web.Response:
    """A region's day: the bulletin's cards and sentences, a 30-day chart, the child regions."""
    viewer = await current_viewer(request)
    region = scoped_region(request, viewer, request.query.get("region"))
    day = chosen_day(request, viewer)
    container = container_of(request)
    report = await data.region_report(container, region.id, day)
    series = await data.daily_series(container, region.id, day)
    rows = await data.child_rows(container, region.id, day)
    sort = request.query.get("sort", "checkins")
    sort = sort if sort in SORTS else "checkins"
    if sort == "name":
        rows.sort(key=lambda row: row.name)
    else:
        field = "venues_with_checkins_share" if sort == "share" else sort
        rows.sort(key=lambda row: (-getattr(row, field), row.name))
    chart = {
        "days": [point.day for point in series],
        "checkins": [point.checkins for point in series],
        "visitors": [point.visitors for point in series],
        "active": [point.venues_with_checkins for point in series],
    }
    _ = viewer.gettext
    return render(
        request,
        "overview.html",
        viewer,
        {
            "region": region,
            "trail": breadcrumbs(request, viewer, region),
            "day": day,
            "previous_day": day - timedelta(days=1),
            "next_day": day + timedelta(days=1) if day + timedelta(days=1) < data.today(container) else None,
            "report": report,
            "sentences": data.report_text(report, _, viewer.lang).split("\n")[2:7],
            "series": series,
            "chart_json": script_json(chart),
            "chart_labels": script_json(
                {"checkins": _("Scans"), "visitors": _("People"), "active": _("Points with scans")}
            ),
            "rows": rows,
            "sort": sort,
            "sort_link": lambda key: (
                "/dashboard/overview?" + urlencode({"region": region.id, "day": day.isoformat(), "sort": key})
            ),
        },
    )


@dataclass(frozen=True)
class FollowUpQuery:
    """What a follow-up list shows: a region, the days without scans, optionally one ward and one category."""

    region: Region
    days: int
    ward: Region | None
    category: str | None

    @property
    def place(self) -> Region:
        return self.ward or self.region

    def params(self) -> dict[str, str]:
        params = {"region": self.region.id, "days": str(self.days)}
        if self.ward is not None:
            params["ward"] = self.ward.id
        if self.category is not None:
            params["category"] = self.category
        return params


def follow_up_query(request: web.Request, viewer: Viewer) -> FollowUpQuery:
    """The list asked for in the query string; the region and ward must be within the viewer's scope."""
    region = scoped_region(request, viewer, request.query.get("region"))
    try:
        days = int(request.query.get("days", data.INACTIVE_DEFAULT_DAYS))
    except ValueError:
        days = 0
    if not 1 <= days <= data.INACTIVE_MAX_DAYS:
        fail(request, 400, BAD_DAYS, viewer.lang)
    ward: Region | None = None
    if request.query.get("ward"):
        ward = scoped_region(request, viewer, request.query["ward"])
        if not container_of(request).regions.is_within(ward.id, region.id):
            fail(request, 404, UNKNOWN_REGION, viewer.lang)
    category = request.query.get("category") or None
    if category not in data.CATEGORIES:
        category = None
    return FollowUpQuery(region, days, ward, category)


async def follow_up_venues(request: web.Request, query: FollowUpQuery) -> list[Venue]:
    venues = await data.follow_up(container_of(request), query.place.id, query.days)
    if query.category is not None:
        venues = [venue for venue in venues if venue.category == query.category]
    return venues


async def follow_up(request: web.Request) -> web.Response:
    """Venues registered a while ago with no scan in the last N days (the `/inactive` list), paged."""
    viewer = await current_viewer(request)
    query = follow_up_query(request, viewer)
    venues = await follow_up_venues(request, query)
    pages = max(1, -(-len(venues) // PAGE_SIZE))
    try:
        page = min(max(1, int(request.query.get("page", "1"))), pages)
    except ValueError:
        page = 1
    shown = venues[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    container = container_of(request)
    reachable = await data.owners_reachable(container, shown)
    params = query.params()
    region = query.region
    return render(
        request,
        "inactive.html",
        viewer,
        {
            "region": region,
            "trail": breadcrumbs(request, viewer, region),
            "days": query.days,
            "ward": query.ward,
            "wards": data.child_regions(container, region.id) if region.kind != "ward" else [],
            "category": query.category,
            "categories": data.CATEGORIES,
            "venues": shown,
            "total": len(venues),
            "page": page,
            "pages": pages,
            "reachable": reachable,
            "label": lambda region_id: container.regions.require(region_id).name,
            "page_link": lambda number: "/dashboard/inactive?" + urlencode({**params, "page": str(number)}),
            "csv_link": "/dashboard/inactive.csv?" + urlencode(params),
        },
    )


async def follow_up_csv(request: web.Request) -> web.Response:
    """The whole follow-up list as the chat's formula-safe CSV; written to the audit log."""
    viewer = await current_viewer(request)
    query = follow_up_query(request, viewer)
    venues = await follow_up_venues(request, query)
    container = container_of(request)
    reachable = await data.owners_reachable(container, venues)
    # A whole city's list is hundreds of thousands of rows: built off the event loop, as the chat does.
    document = await asyncio.to_thread(data.follow_up_csv, container, viewer.gettext, venues, reachable)
    actor = await data.actor_of(container, viewer.access.user_id)
    await data.record_export(container, actor, query.place.id, len(venues), query.days)
    filename = f"inactive-{query.place.id.replace('/', '-')}-{data.today(container).isoformat()}.csv"
    return web.Response(
        body=document,
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def venue_page(request: web.Request) -> web.Response:
    """A venue: daily scans over 30 days, the hourly profile, status, whether the owner is reachable."""
    viewer = await current_viewer(request)
    container = container_of(request)
    code = request.match_info["code"].upper()
    try:
        venue = await data.venue_in_scope(container, viewer.access, code)
    except data.Refused as refusal:
        status = 404 if isinstance(refusal, data.BadInput) else 403
        fail(request, status, UNKNOWN_VENUE if status == 404 else OUTSIDE, viewer.lang)
    last = data.today(container)
    days = await data.venue_days(container, venue.code, last)
    hours = [sum(day.hours.get(hour, 0) for day in days) for hour in range(24)]
    reachable = await data.owners_reachable(container, [venue])
    region = container.regions.require(venue.region_id)
    return render(
        request,
        "venue.html",
        viewer,
        {
            "venue": venue,
            "region": region,
            "trail": breadcrumbs(request, viewer, region),
            "days": days,
            "hours": hours,
            "busiest": max(hours) or 1,
            "owner_reachable": venue.owner_id is not None and reachable.get(venue.owner_id, False),
            "category": data.CATEGORIES.get(venue.category, venue.category),
            "chart_json": script_json(
                {"days": [day.day for day in days], "checkins": [day.checkins for day in days]}
            ),
            "chart_labels": script_json({"checkins": viewer.gettext("Scans")}),
        },
    )
