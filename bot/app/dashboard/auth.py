"""Who is looking: sign-in by one-time link or Telegram Mini App, sessions in cookies, CSRF.

A sign-in link opens a page with a button rather than signing in on GET: Telegram and other apps
fetch links to preview them, and that fetch must not use up the one-time link. The sign-in forms
carry a pre-session token that must match a cookie set with the form (SameSite=Lax), so another
site cannot sign a browser in to someone else's session.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

import aiohttp_jinja2
from aiohttp import web

from bot.app.container import Container
from bot.app.dashboard import data
from bot.i18n import N_, Gettext, gettext_for, pick_language
from bot.signins import SESSION_TTL, verify_init_data
from storage.signins import DashboardSession

SESSION_COOKIE = "quetma_session"
PRESIGN_COOKIE = "quetma_presign"
COOKIE_PATH = "/dashboard"
PRESIGN_MAX_AGE = 15 * 60

CONTAINER = web.AppKey[Callable[[], Container]]("dashboard_container")

SIGN_IN_NEEDED = N_("Please sign in: send /dashboard to the bot in Telegram and open the link it sends you.")
LINK_REFUSED = N_(
    "This sign-in link has expired or was already used. Send /dashboard to the bot for a new one."
)
FORM_EXPIRED = N_("This form has expired. Please open the page again.")
MINIAPP_REFUSED = N_(
    "Telegram did not vouch for this sign-in. Close the page and open it again from the bot."
)


@dataclass(frozen=True)
class Viewer:
    """A signed-in official or admin on this request."""

    session: DashboardSession
    access: data.Access

    @property
    def lang(self) -> str:
        return self.session.lang

    @property
    def gettext(self) -> Gettext:
        return gettext_for(self.session.lang)


def container_of(request: web.Request) -> Container:
    return request.app[CONTAINER]()


def secure_cookies(container: Container) -> bool:
    """Cookies are sent over TLS only when people reach the pages over https."""
    return container.settings.base_url.startswith("https://")


ERRORS: dict[int, type[web.HTTPException]] = {
    400: web.HTTPBadRequest,
    401: web.HTTPUnauthorized,
    403: web.HTTPForbidden,
    404: web.HTTPNotFound,
}


def fail(request: web.Request, status: int, message: str, lang: str) -> NoReturn:
    """Stop with an HTML page saying `message` (an msgid) in the person's language."""
    _ = gettext_for(lang)
    page = aiohttp_jinja2.render_string(
        "error.html", request, {"_": _, "lang": lang, "message": _(message), "viewer": None}
    )
    raise ERRORS[status](text=page, content_type="text/html")


def see_other(location: str) -> web.Response:
    """A 303 to another dashboard page (returned, so cookies set on it are kept)."""
    return web.Response(status=303, headers={"Location": location})


def browser_language(request: web.Request) -> str:
    """For pages before sign-in: Vietnamese unless the browser asks for English first."""
    accepted = request.headers.get("Accept-Language", "")
    first = accepted.split(",", 1)[0].strip()
    return pick_language(None, first or None)


async def current_viewer(request: web.Request) -> Viewer:
    """The signed-in official or admin, re-checked on every request: a revoked official is out at once."""
    container = container_of(request)
    session = await container.signins.session(request.cookies.get(SESSION_COOKIE, ""))
    if session is None:
        fail(request, 401, SIGN_IN_NEEDED, browser_language(request))
    access = await data.access_of(container, session.user_id)
    if access is None:
        fail(request, 403, data.NOT_OFFICIAL, session.lang)
    return Viewer(session, access)


async def check_csrf(request: web.Request, viewer: Viewer) -> dict[str, str]:
    """The POSTed form, if it carries the session's CSRF token; else 403."""
    form = await request.post()
    given = form.get("csrf")
    if not isinstance(given, str) or not secrets.compare_digest(given.encode(), viewer.session.csrf.encode()):
        fail(request, 403, FORM_EXPIRED, viewer.lang)
    return {key: value for key, value in form.items() if isinstance(value, str)}


def set_presign(request: web.Request, response: web.StreamResponse, token: str) -> None:
    response.set_cookie(
        PRESIGN_COOKIE,
        token,
        max_age=PRESIGN_MAX_AGE,
        path=COOKIE_PATH,
        httponly=True,
        samesite="Lax",
        secure=secure_cookies(container_of(request)),
    )


async def presigned_form(request: web.Request) -> dict[str, str]:
    """A sign-in form whose pre-session token matches its cookie; else 403."""
    form = await request.post()
    given, expected = form.get("presign"), request.cookies.get(PRESIGN_COOKIE, "")
    if (
        not isinstance(given, str)
        or not expected
        or not secrets.compare_digest(given.encode(), expected.encode())
    ):
        fail(request, 403, FORM_EXPIRED, browser_language(request))
    return {key: value for key, value in form.items() if isinstance(value, str)}


async def start_session(request: web.Request, user_id: int, *, via: str) -> web.Response:
    """Open a session for an official or admin and go to their region's overview."""
    container = container_of(request)
    profile = await container.repos.users.get(user_id)
    lang = (
        pick_language(profile.language, profile.telegram_language) if profile else browser_language(request)
    )
    if await data.access_of(container, user_id) is None:
        fail(request, 403, data.NOT_OFFICIAL, lang)
    cookie, _session = await container.signins.open_session(user_id, lang=lang, via=via)
    response = see_other("/dashboard/overview")
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=int(SESSION_TTL.total_seconds()),
        path=COOKIE_PATH,
        httponly=True,
        samesite="Lax",
        secure=secure_cookies(container),
    )
    response.del_cookie(PRESIGN_COOKIE, path=COOKIE_PATH)
    return response


def presign_page(request: web.Request, template: str, context: dict[str, object]) -> web.Response:
    lang = browser_language(request)
    token = secrets.token_urlsafe(24)
    response = aiohttp_jinja2.render_template(
        template, request, {"_": gettext_for(lang), "lang": lang, "presign": token, "viewer": None, **context}
    )
    set_presign(request, response, token)
    return response


async def signin_page(request: web.Request) -> web.Response:
    """GET of a link from the chat: a page with a sign-in button (the link is not used yet)."""
    return presign_page(request, "signin.html", {"action": request.path})


async def signin(request: web.Request) -> web.Response:
    """POST of the sign-in button: use up the link and open a session."""
    await presigned_form(request)
    user_id = await container_of(request).signins.redeem_link(request.match_info["token"])
    if user_id is None:
        fail(request, 403, LINK_REFUSED, browser_language(request))
    return await start_session(request, user_id, via="link")


async def miniapp_page(request: web.Request) -> web.Response:
    """The Mini App's entry: a page whose script posts Telegram's initData back."""
    return presign_page(request, "miniapp.html", {})


async def miniapp_signin(request: web.Request) -> web.Response:
    """POST of a Mini App's initData: checked as Telegram documents it, then a session for that user."""
    form = await presigned_form(request)
    container = container_of(request)
    token = container.settings.bot_token
    user = None
    if token is not None:
        user = verify_init_data(
            form.get("init_data", ""), token.get_secret_value(), now=container.clock.now()
        )
    if user is None:
        fail(request, 403, MINIAPP_REFUSED, browser_language(request))
    return await start_session(request, user.user_id, via="webapp")


async def signout(request: web.Request) -> web.Response:
    viewer = await current_viewer(request)
    await check_csrf(request, viewer)
    await container_of(request).signins.close_session(viewer.session)
    response = see_other("/dashboard")
    response.del_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    return response


async def set_language(request: web.Request) -> web.Response:
    viewer = await current_viewer(request)
    form = await check_csrf(request, viewer)
    await container_of(request).signins.set_language(viewer.session, form.get("lang", ""))
    back = form.get("next", "")
    # Only back to a dashboard page: never an open redirect to another site.
    if not back.startswith("/dashboard") or "//" in back or "\\" in back:
        back = "/dashboard/overview"
    return see_other(back)
