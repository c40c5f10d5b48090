"""The playground's web chat drives the real bot: an owner registers, a citizen scans, 21:00 comes."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from datetime import datetime, time
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app.cli import main
from bot.app.emulator import ApiCall
from bot.app.playground import OFFICIAL_ID, PLAYGROUND_DB, Playground, playground
from bot.app.playground.chat import DEMO_TASKS, create_chat_app
from bot.app.settings import Settings
from storage.database import Repos
from tests.conftest import TZ

OWNER, CITIZEN = 820001, 810001
WRITE = {"X-Playground": "1"}


@pytest.fixture
async def chat(mongo_uri: str, tmp_path: Path) -> AsyncIterator[tuple[TestClient, Playground]]:
    base = Settings(_env_file=None, mongodb_uri=mongo_uri, data_dir=tmp_path)  # type: ignore[call-arg]
    morning = datetime.combine(datetime.now(TZ).date(), time(9, 0), TZ)
    try:
        async with (
            playground(base, start=morning) as pg,
            TestClient(TestServer(create_chat_app(pg))) as client,
        ):
            yield client, pg
    finally:
        repos = Repos.open(mongo_uri, PLAYGROUND_DB, tz=TZ, retention_days=21)
        await repos.drop_database()
        await repos.close()


async def said(pg: Playground, chat: int, needle: str, method: str = "*") -> ApiCall:
    """Wait for the bot to show `chat` a text or caption containing `needle`."""

    def shows(call: ApiCall) -> bool:
        return call.ok and call.chat_id == chat and needle in (call.text or "")

    calls = await pg.api.wait_for(method, predicate=shows, timeout=20)
    return calls[-1]


async def type_(client: TestClient, chat: int, text: str) -> None:
    response = await client.post("/api/send", json={"chat": chat, "text": text}, headers=WRITE)
    assert response.status == 200


async def press(client: TestClient, chat: int, label: str) -> None:
    """Press the button labelled `label` on the message the bot sent in `call`, as the page does."""
    state = await (await client.get(f"/api/state?chat={chat}")).json()
    for message in reversed(state["messages"]):
        for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                if label in button["text"]:
                    body = {
                        "chat": chat,
                        "message_id": message["message_id"],
                        "data": button["callback_data"],
                    }
                    assert (await client.post("/api/press", json=body, headers=WRITE)).status == 200
                    return
    raise AssertionError(f"no button {label!r} in {chat}'s chat")


async def test_register_scan_today_and_the_evening_summary(chat: tuple[TestClient, Playground]) -> None:
    client, pg = chat
    page = await client.get("/")
    assert page.status == 200 and "QuetMa playground" in await page.text()
    # Writes need the page's header: a form on another site cannot post.
    assert (await client.post("/api/send", json={"chat": OWNER, "text": "/help"})).status == 403

    await client.post("/api/lang", json={"chat": OWNER, "lang": "en"}, headers=WRITE)
    await type_(client, OWNER, "/newvenue")
    await said(pg, OWNER, "1/6")
    await type_(client, OWNER, "Phở Lý Quốc Sư")
    await said(pg, OWNER, "2/6")
    await type_(client, OWNER, "10 Lý Quốc Sư")
    await said(pg, OWNER, "3/6")
    await type_(client, OWNER, "Hà Nội")
    await said(pg, OWNER, "4/6")
    await type_(client, OWNER, "Ba")
    await pg.api.wait_for("sendMessage", predicate=lambda c: "Phường Ba Đình" in str(c.params), timeout=20)
    await press(client, OWNER, "Phường Ba Đình")
    await said(pg, OWNER, "5/6")
    await press(client, OWNER, "Food")
    await said(pg, OWNER, "6/6")
    await type_(client, OWNER, "30")
    poster = await said(pg, OWNER, "Poster of Phở Lý Quốc Sư", "sendPhoto")
    await said(pg, OWNER, "Print-ready", "sendDocument")

    # The poster is shown and downloadable; scanning it sends what a phone's camera would open.
    state = await (await client.get(f"/api/state?chat={OWNER}")).json()
    photo = next(m for m in state["messages"] if m.get("photo"))
    image = await client.get(f"/file/{photo['photo'][-1]['file_id']}?inline=1")
    assert image.status == 200 and (await image.read()).startswith(b"\x89PNG")
    body = {"from_chat": OWNER, "chat": CITIZEN, "message_id": photo["message_id"]}
    scanned = await (await client.post("/api/scan", json=body, headers=WRITE)).json()
    code = str(poster.text).rsplit(" ", 1)[-1]
    assert scanned["payload"] == pg.container.signer.checkin(code)
    await said(pg, CITIZEN, "Phở Lý Quốc Sư")

    await type_(client, OWNER, "/today")
    await said(pg, OWNER, "today until")

    moved = await (await client.post("/api/clock", json={"to": "21:00"}, headers=WRITE)).json()
    assert " 21:00" in moved["clock"].replace("T", " ")
    summary = await said(pg, OWNER, "Daily summary · Phở Lý Quốc Sư", "sendPhoto")
    assert "Check-ins: 1" in str(summary.text)

    # The inspector shows the calls and updates as JSON.
    inspector = await (await client.get("/api/inspector")).json()
    assert any(call["method"] == "sendPhoto" for call in inspector["calls"])
    assert any("callback_query" in update for update in inspector["updates"])
    json.dumps(inspector)

    # The official persona joined through an invite link at start; 07:00 brings their morning report.
    await said(pg, OFFICIAL_ID, "")
    pg.api.clear()
    moved = await (await client.post("/api/clock", json={"to": "07:00"}, headers=WRITE)).json()
    assert " 07:00" in moved["clock"].replace("T", " ")
    report = await said(pg, OFFICIAL_ID, "")
    assert report.method in {"sendMessage", "sendPhoto", "sendDocument"}


async def test_the_official_s_dashboard_link_opens_the_bot_s_own_web_app(
    chat: tuple[TestClient, Playground],
) -> None:
    client, pg = chat
    await said(pg, OFFICIAL_ID, "")
    await type_(client, OFFICIAL_ID, "/dashboard")
    base = pg.container.settings.public_url
    assert base is not None and base.startswith("http://127.0.0.1:")
    sent = await pg.api.wait_for(
        "sendMessage", predicate=lambda c: c.chat_id == OFFICIAL_ID and base in str(c.params), timeout=20
    )
    link = re.search(re.escape(base) + r"/dashboard/[^\s\"'<>]+", str(sent[-1].params))
    assert link is not None
    async with aiohttp.ClientSession() as http, http.get(link.group(0)) as response:
        assert response.status == 200, "the sign-in page of the dashboard, served beside the chat"


async def test_demo_data_loads_with_progress(chat: tuple[TestClient, Playground]) -> None:
    client, pg = chat
    assert (await client.post("/api/demo", json={}, headers=WRITE)).status == 200
    async with asyncio.timeout(60):
        await asyncio.gather(*client.app[DEMO_TASKS])
    demo = (await (await client.get("/api/state")).json())["demo"]
    assert demo["message"].startswith("loaded") and demo["done"] == demo["total"] > 30
    assert await pg.container.repos.venues.count() == 30


def test_run_without_a_token_still_refuses(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("BOT_TOKEN", raising=False)
    monkeypatch.chdir(Path(__file__).parent)
    assert main(["run"]) == 2
    assert "BOT_TOKEN is not set" in capsys.readouterr().err


def test_the_playground_refuses_a_remote_database(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("BOT_TOKEN", raising=False)
    monkeypatch.setenv("MONGODB_URI", "mongodb://db.example.org:27017")
    monkeypatch.chdir(Path(__file__).parent)
    assert main(["playground"]) == 2
    err = capsys.readouterr().err
    assert "only runs against a database on 127.0.0.1" in err
