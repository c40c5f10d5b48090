"""Contact tracing and exposure alerts as forms: the same use cases, audit and idempotence as `/trace` and `/exposure`.

A trace answers with the chat's CSV and is written to the audit log, found or not. An exposure
alert is two steps, as in the chat: the form shows how many people would be alerted, and only the
confirmation (another POST with the same window) queues the alerts; running it again alerts nobody twice.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from bot.app.dashboard import data
from bot.app.dashboard.auth import Viewer, check_csrf, container_of, current_viewer, fail
from bot.app.dashboard.views import OUTSIDE, render
from bot.i18n import N_
from bot.payload import normalize_code

FORM_INCOMPLETE = N_("Fill in the venue code and both times.")


def form_page(
    request: web.Request, viewer: Viewer, kind: str, fields: dict[str, str], **context: Any
) -> web.Response:
    return render(
        request,
        "trace.html",
        viewer,
        {
            "kind": kind,
            "code": fields.get("code", ""),
            "start": fields.get("start", ""),
            "end": fields.get("end", ""),
            "error": None,
            "plan": None,
            "queued": None,
            "empty": False,
            "venue": None,
            "window": "",
            "progress": None,
            **progress_context(fields),
            **context,
        },
    )


async def trace_form(request: web.Request) -> web.Response:
    viewer = await current_viewer(request)
    return form_page(request, viewer, request.match_info["kind"], dict(request.query))


def parse_form(request: web.Request, kind: str, fields: dict[str, str]) -> tuple[str, data.Window]:
    """The venue code and window of a form, or BadInput with the chat's wording."""
    container = container_of(request)
    typed = fields.get("code", "").strip()
    start, end = fields.get("start", "").strip(), fields.get("end", "").strip()
    if not typed or not start or not end:
        raise data.BadInput(FORM_INCOMPLETE)
    code = normalize_code(typed)
    if code is None:
        raise data.BadInput(data.UNKNOWN_VENUE, code=typed[:16])
    window = data.parse_window(container, f"{start} {end}", command=kind)
    return code, window


async def trace_submit(request: web.Request) -> web.Response:
    """POST of either form: a trace's CSV, an exposure's plan, or (confirmed) the queued alerts."""
    viewer = await current_viewer(request)
    fields = await check_csrf(request, viewer)
    kind = request.match_info["kind"]
    container = container_of(request)
    _ = viewer.gettext
    try:
        code, window = parse_form(request, kind, fields)
        shown = window.local(container.settings.tz)
        if kind == "trace":
            actor = await data.actor_of(container, viewer.access.user_id)
            trace = await data.run_trace(container, viewer.access, actor, code, window)
            if not trace.visits:
                return form_page(
                    request,
                    viewer,
                    kind,
                    fields,
                    empty=True,
                    venue=trace.venue,
                    window=shown,
                )
            document = data.trace_csv(container, _, trace)
            filename = data.trace_filename(container, trace)
            return web.Response(
                body=document,
                content_type="text/csv",
                charset="utf-8",
                headers={"Content-Disposition": f'attachment; filename="{filename}"'},
            )
        plan = await data.plan_exposure(container, viewer.access, code, window)
        if fields.get("confirm") != "yes" or not plan.people:
            return form_page(request, viewer, kind, fields, plan=plan, window=shown)
        actor = await data.actor_of(container, viewer.access.user_id)
        queued = await data.send_exposure(container, viewer.access, actor, code, window)
        progress = await data.alert_progress(container, viewer.access, code, window)
        return form_page(
            request, viewer, kind, fields, plan=plan, queued=queued, progress=progress, window=shown
        )
    except data.Refused as refusal:
        status = 400 if isinstance(refusal, data.BadInput) else 403
        response = form_page(request, viewer, kind, fields, error=refusal.text(_))
        response.set_status(status)
        return response


async def exposure_progress(request: web.Request) -> web.Response:
    """Where the alerts about a venue and window stand; the result page polls it (htmx) to stay current."""
    viewer = await current_viewer(request)
    fields = dict(request.query)
    try:
        code, window = parse_form(request, "exposure", fields)
        progress = await data.alert_progress(container_of(request), viewer.access, code, window)
    except data.Refused as refusal:
        if isinstance(refusal, data.BadInput):
            fail(request, 400, FORM_INCOMPLETE, viewer.lang)
        fail(request, 403, OUTSIDE, viewer.lang)
    return render(request, "progress.html", viewer, {"progress": progress, **progress_context(fields)})


def progress_context(fields: dict[str, str]) -> dict[str, str]:
    """The progress section's own address, to poll."""
    query = {key: fields.get(key, "") for key in ("code", "start", "end")}
    return {"progress_link": "/dashboard/exposure/progress?" + urlencode(query)}


__all__ = ["exposure_progress", "trace_form", "trace_submit"]
