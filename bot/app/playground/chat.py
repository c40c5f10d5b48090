"""The playground's web chat: one pane per person, the clock, demo data and the inspector."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from importlib import resources
from typing import Any

from aiohttp import web

from bot.app.emulator.formatting import safe_html
from bot.app.playground import Playground
from bot.clock import local_day
from bot.demo import DemoData, DemoSpec
from storage.bulk import run_bulk_load

PLAYGROUND = web.AppKey("playground", Playground)
PROGRESS = web.AppKey("demo_progress", dict)
DEMO_TASKS = web.AppKey("demo_tasks", set)
# A custom header a cross-site form cannot send: the page's own scripts are the only writers.
WRITE_HEADER = "X-Playground"


def _static(name: str) -> bytes:
    return (resources.files("bot.app.playground") / "static" / name).read_bytes()


@web.middleware
async def same_origin_writes(request: web.Request, handler: Any) -> web.StreamResponse:
    if request.method == "POST" and request.headers.get(WRITE_HEADER) != "1":
        raise web.HTTPForbidden(text="missing X-Playground header")
    response: web.StreamResponse = await handler(request)
    return response


def create_chat_app(pg: Playground) -> web.Application:
    app = web.Application(middlewares=[same_origin_writes])
    app[PLAYGROUND] = pg
    app[PROGRESS] = {"done": 0, "total": 0, "message": ""}
    app[DEMO_TASKS] = set()
    app.router.add_get("/", page)
    app.router.add_get("/static/{name}", static)
    app.router.add_get("/favicon.ico", no_icon)
    app.router.add_get("/api/state", state)
    app.router.add_get("/api/inspector", inspector)
    app.router.add_get("/file/{file_id}", download)
    app.router.add_post("/api/send", send)
    app.router.add_post("/api/press", press)
    app.router.add_post("/api/scan", scan)
    app.router.add_post("/api/lang", language)
    app.router.add_post("/api/person", add_person)
    app.router.add_post("/api/clock", travel)
    app.router.add_post("/api/demo", demo)
    app.on_cleanup.append(_cancel_demo)
    return app


async def _cancel_demo(app: web.Application) -> None:
    for task in app[DEMO_TASKS]:
        task.cancel()


async def page(request: web.Request) -> web.Response:
    return web.Response(body=_static("chat.html"), content_type="text/html", charset="utf-8")


async def no_icon(request: web.Request) -> web.Response:
    return web.Response(status=204)


async def static(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    kinds = {"chat.js": "application/javascript", "chat.css": "text/css"}
    if name not in kinds:
        raise web.HTTPNotFound()
    return web.Response(body=_static(name), content_type=kinds[name], charset="utf-8")


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="JSON body expected") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="JSON object expected")
    return body


def _chat_id(pg: Playground, value: object) -> int:
    try:
        chat = int(str(value))
        pg.persona(chat)
    except (KeyError, ValueError):
        raise web.HTTPNotFound(text="no such person") from None
    return chat


async def state(request: web.Request) -> web.Response:
    pg = request.app[PLAYGROUND]
    chat = _chat_id(pg, request.query.get("chat") or pg.personas[0].user_id)
    persona = pg.persona(chat)
    commands = await _commands(pg, persona.user_id, persona.language_code)
    tz = pg.container.settings.tz
    local = pg.clock.now().astimezone(tz)
    offset = local.utcoffset()
    return web.json_response(
        {
            "utc_offset": int(offset.total_seconds()) if offset is not None else 0,
            "bot": pg.api.bot_user,
            "clock": local.strftime("%a %Y-%m-%d %H:%M"),
            "personas": [p.as_json() for p in pg.personas],
            "messages": [_with_html(pg, chat, m) for m in pg.api.chat_log(chat) if not m.get("deleted")],
            "commands": commands,
            "demo": request.app[PROGRESS],
        }
    )


def _with_html(pg: Playground, chat: int, message: dict[str, Any]) -> dict[str, Any]:
    """The message, plus its formatting as safe HTML when the bot sent it with a parse mode."""
    formatted = pg.api.formatted(chat, int(message.get("message_id", 0)))
    if formatted is None or not message.get("from", {}).get("is_bot"):
        return message
    try:
        return {**message, "html": safe_html(*formatted)}
    except ValueError:
        return message


async def _commands(pg: Playground, chat: int, lang: str) -> list[dict[str, Any]]:
    """The command menu as Telegram would show it: the chat's scope first, then the defaults."""
    for scope in ({"type": "chat", "chat_id": chat}, {"type": "default"}):
        for code in (lang, ""):
            found = pg.api._commands.get((json.dumps(scope, sort_keys=True), code))
            if found:
                return found
    return []


async def inspector(request: web.Request) -> web.Response:
    pg = request.app[PLAYGROUND]
    calls = [
        {
            "method": call.method,
            "status": call.status,
            "params": call.params,
            "files": {name: [file[0], len(file[1])] for name, file in call.files.items()},
        }
        for call in pg.api.calls[-60:]
        if call.method != "getUpdates" or call.params.get("offset")
    ]
    return web.json_response({"calls": calls, "updates": pg.sent_updates[-30:]}, dumps=_dumps)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


async def download(request: web.Request) -> web.Response:
    stored = request.app[PLAYGROUND].api.file(request.match_info["file_id"])
    if stored is None:
        raise web.HTTPNotFound()
    name, content = stored
    disposition = "inline" if request.query.get("inline") else f'attachment; filename="{name}"'
    kind = "image/png" if content[:4] == b"\x89PNG" else "application/octet-stream"
    return web.Response(body=content, content_type=kind, headers={"Content-Disposition": disposition})


async def send(request: web.Request) -> web.Response:
    pg, body = request.app[PLAYGROUND], await _body(request)
    text = str(body.get("text", "")).strip()
    if not text:
        raise web.HTTPBadRequest(text="empty message")
    pg.send(_chat_id(pg, body.get("chat")), text)
    return web.json_response({"ok": True})


async def press(request: web.Request) -> web.Response:
    pg, body = request.app[PLAYGROUND], await _body(request)
    pg.press(_chat_id(pg, body.get("chat")), int(body.get("message_id", 0)), str(body.get("data", "")))
    return web.json_response({"ok": True})


async def scan(request: web.Request) -> web.Response:
    """The person points a phone at a poster the bot sent: Telegram opens /start <payload>."""
    pg, body = request.app[PLAYGROUND], await _body(request)
    source = _chat_id(pg, body.get("from_chat", body.get("chat")))
    scanner = _chat_id(pg, body.get("chat"))
    message = next(
        (m for m in pg.api.chat_log(source) if m.get("message_id") == body.get("message_id")), None
    )
    payload = await pg.scan_payload(message) if message is not None else None
    if payload is None:
        raise web.HTTPBadRequest(text="no QR code on this message")
    pg.send(scanner, f"/start {payload}")
    return web.json_response({"ok": True, "payload": payload})


async def language(request: web.Request) -> web.Response:
    pg, body = request.app[PLAYGROUND], await _body(request)
    lang = str(body.get("lang"))
    if lang not in {"vi", "en"}:
        raise web.HTTPBadRequest(text="vi or en")
    pg.persona(_chat_id(pg, body.get("chat"))).language_code = lang
    return web.json_response({"ok": True})


async def add_person(request: web.Request) -> web.Response:
    pg, body = request.app[PLAYGROUND], await _body(request)
    persona = pg.add_person(str(body.get("name", "")).strip()[:64])
    return web.json_response(persona.as_json())


async def travel(request: web.Request) -> web.Response:
    pg, body = request.app[PLAYGROUND], await _body(request)
    to = str(body.get("to"))
    if to not in {"21:00", "07:00", "+2h"}:
        raise web.HTTPBadRequest(text="21:00, 07:00 or +2h")
    return web.json_response({"clock": await pg.travel(to)})


async def demo(request: web.Request) -> web.Response:
    """Load a ward's week of demo visits in the background; the page shows the progress."""
    app = request.app
    if app[DEMO_TASKS]:
        raise web.HTTPConflict(text="demo data is loading")
    task = asyncio.create_task(_load_demo(app))
    app[DEMO_TASKS].add(task)
    task.add_done_callback(app[DEMO_TASKS].discard)
    return web.json_response({"ok": True})


async def _load_demo(app: web.Application) -> None:
    pg, progress = app[PLAYGROUND], app[PROGRESS]
    container = pg.container
    settings = container.settings
    region = container.regions.resolve("Ba Đình, Hà Nội")
    spec = DemoSpec(
        region=region,
        venues=30,
        days=7,
        checkins_per_day=400,
        last_day=local_day(pg.clock.now(), settings.tz) - timedelta(days=1),
    )
    data = DemoData(spec, container.regions, settings.tz)
    progress.update(done=0, total=spec.venues + data.total_checkins, message="loading")

    def advance(_stage: str, count: int) -> None:
        progress["done"] += count

    try:
        await run_bulk_load(
            container.repos,
            data.venues(),
            data.visits,
            tz=settings.tz,
            retention_days=settings.retention_days,
            progress=advance,
        )
    except ValueError as exc:
        progress["message"] = f"not loaded: {exc} (demo data needs an empty playground database)"
        return
    progress.update(done=progress["total"], message="loaded: 30 venues in Ba Đình, 7 days of visits")
