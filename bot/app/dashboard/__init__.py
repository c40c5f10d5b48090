"""The officials' dashboard: server-rendered pages on the bot's own aiohttp app, under /dashboard.

Templates and every script and style sheet (vendored with their licences) are package data, so
the pages work on a machine without internet. `setup(app, container)` mounts it on the app that
`bot.app.web.create_app` builds; the container is read once the app has started.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot.app.container import Container
from bot.app.dashboard import auth, tracing, views

STATIC_DIR = Path(__file__).parent / "static"
# Scripts, styles and forms only from this app; Telegram's web client may frame the Mini App.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'self' https://web.telegram.org"
)


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """No caching of figures, no referrer (sign-in links carry a token), a strict content policy."""
    if not request.path.startswith("/dashboard"):
        return
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if not request.path.startswith("/dashboard/static/"):
        response.headers.setdefault("Cache-Control", "no-store")


def setup(app: web.Application, container: Callable[[], Container]) -> None:
    """Add the dashboard's routes to `app`; `container` gives the started app's container."""
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("bot.app.dashboard", "templates"),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
    )
    app[auth.CONTAINER] = container
    app.on_response_prepare.append(security_headers)
    router = app.router
    router.add_get("/dashboard", views.home)
    router.add_get("/dashboard/signin/{token}", auth.signin_page)
    router.add_post("/dashboard/signin/{token}", auth.signin)
    router.add_get("/dashboard/app", auth.miniapp_page)
    router.add_post("/dashboard/app", auth.miniapp_signin)
    router.add_post("/dashboard/signout", auth.signout)
    router.add_post("/dashboard/language", auth.set_language)
    router.add_get("/dashboard/overview", views.overview)
    router.add_get("/dashboard/inactive", views.follow_up)
    router.add_get("/dashboard/inactive.csv", views.follow_up_csv)
    router.add_get("/dashboard/venue/{code}", views.venue_page)
    router.add_get("/dashboard/exposure/progress", tracing.exposure_progress)
    router.add_get("/dashboard/{kind:trace|exposure}", tracing.trace_form)
    router.add_post("/dashboard/{kind:trace|exposure}", tracing.trace_submit)
    router.add_static("/dashboard/static/", STATIC_DIR, append_version=True)


__all__ = ["setup"]
