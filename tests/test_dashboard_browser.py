"""An official's morning in a real headless Chromium: the link from the chat, the city, a ward, the follow-up list, its CSV, a venue.

Needs Debian's `chromium` package (`apt-get install chromium`; `.ci/run` installs it) and the
`playwright` Python package, which drives that browser; no browser is downloaded. QUETMA_CHROMIUM
names another Chromium binary.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from PIL import Image, ImageStat
from telegram import Update

from bot.app.metrics import Metrics
from bot.app.settings import Settings
from bot.app.web import TELEGRAM, create_app
from bot.clock import ManualClock
from bot.reports import build_report
from storage.database import Repos
from storage.models import NewVenue
from tests import factories
from tests.botapi import BotApiDouble
from tests.dashboard_support import make_official
from tests.test_official_report import HANOI, REGIONS, WARD_A, D, hand_made_city

HOW_TO_GET_THEM = (
    "browser tests skipped: {why}. Install Debian's Chromium (`apt-get install chromium`, as .ci/run does) "
    "and the test extras (`pip install -e '.[test]'`), or point QUETMA_CHROMIUM at a Chromium binary."
)
OFFICIAL = 6002


def chromium_path() -> str:
    found = os.environ.get("QUETMA_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.skip(HOW_TO_GET_THEM.format(why="no chromium on PATH"))
    return found


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def assert_not_blank(path: Path) -> None:
    """A screenshot with real content: several colours and some contrast, not one flat colour."""
    with Image.open(path) as image:
        rgb = image.convert("RGB")
        assert rgb.width > 300 and rgb.height > 300
        colours = rgb.getcolors(maxcolors=1_000_000) or []
        assert len(colours) > 50, f"{path.name} looks blank"
        assert max(ImageStat.Stat(rgb.convert("L")).stddev) > 10


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    executable = chromium_path()
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        pytest.skip(HOW_TO_GET_THEM.format(why="the playwright package is not installed"))
    async with async_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        launched = await playwright.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox"]
        )
        try:
            yield launched
        finally:
            await launched.close()


async def test_an_official_signs_in_from_the_chat_and_exports_the_follow_up_list(
    browser: Any, settings: Settings, repos: Repos, clock: ManualClock, botapi: BotApiDouble, tmp_path: Path
) -> None:
    await hand_made_city(repos)
    await make_official(repos, OFFICIAL, HANOI.id, clock.now(), name="Nguyễn Thu")
    never = NewVenue(name="Tiệm sách Cũ", address="9 Phan Đình Phùng", category="shop", regions=WARD_A.path)
    await repos.venues.create(never, now=clock.now(), day="2026-11-02", new_code=lambda: "NEVERSC2")
    port = unused_port()
    served = settings.model_copy(update={"public_url": f"http://127.0.0.1:{port}"})
    app = create_app(served, clock=clock, metrics=Metrics())
    async with TestServer(app, host="127.0.0.1", port=port):
        # The official sends /dashboard in the chat and gets a link.
        ptb = app[TELEGRAM]
        await ptb.process_update(Update.de_json(factories.message_update(OFFICIAL, "/dashboard"), ptb.bot))
        reply = botapi.calls_of("sendMessage")[-1]
        match = re.search(r"http://127\.0\.0\.1:\d+/dashboard/signin/\S+", reply.text or "")
        assert match is not None, reply.text
        context = await browser.new_context(viewport={"width": 1100, "height": 1400}, accept_downloads=True)
        page = await context.new_page()
        problems: list[str] = []
        page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))

        await page.goto(match.group(0))
        await page.click("#signin")
        await page.wait_for_url(re.compile(r"/dashboard/overview"))
        assert await page.inner_text("h1") == HANOI.name
        report = await build_report(repos.stats, REGIONS, HANOI.id, D)
        assert await page.get_attribute("#card-checkins .card-value", "data-value") == str(report.checkins)
        await page.wait_for_selector("#chart canvas")
        await page.screenshot(path=str(tmp_path / "overview.png"), full_page=True)

        # Sorting the wards by name swaps the table in place (htmx) and keeps the address bar in step.
        await page.click("#children th a[href*='sort=name']")
        await page.wait_for_url(re.compile(r"sort=name"))
        await page.wait_for_selector("#children th a[href*='sort=name'][aria-sort]")
        await page.click(f"a.drill:text-is('{WARD_A.name}')")
        await page.wait_for_url(re.compile(r"region=vn/1/4"))
        assert await page.inner_text("h1") == WARD_A.name
        await page.screenshot(path=str(tmp_path / "ward.png"), full_page=True)

        await page.click("#follow-up-link")
        await page.wait_for_url(re.compile(r"/dashboard/inactive"))
        await page.screenshot(path=str(tmp_path / "follow-up.png"), full_page=True)
        async with page.expect_download() as download_info:
            await page.click("#csv-link")
        download = await download_info.value
        saved = tmp_path / download.suggested_filename
        await download.save_as(saved)
        content = saved.read_bytes()
        assert content.startswith(b"\xef\xbb\xbf") and "Tên địa điểm".encode() in content
        entries = await repos.audit.since()
        assert [(entry.action, entry.actor_id, entry.region) for entry in entries] == [
            ("export", OFFICIAL, WARD_A.id)
        ]

        first_venue = page.locator("#follow-up a[href^='/dashboard/venue/']").first
        code = await first_venue.inner_text()
        await first_venue.click()
        await page.wait_for_url(re.compile(rf"/dashboard/venue/{code}"))
        assert code in await page.inner_text("h1")
        await page.screenshot(path=str(tmp_path / "venue.png"), full_page=True)

        # A trace from the venue's page: nobody was there, and the look-up is still audited.
        await page.click(f"a[href='/dashboard/trace?code={code}']")
        await page.fill("input[name=start]", "2026-11-18T08:00")
        await page.fill("input[name=end]", "2026-11-18T12:00")
        await page.click("form.filters button[type=submit]")
        await page.screenshot(path=str(tmp_path / "trace.png"), full_page=True)
        await page.wait_for_selector("#trace-empty")
        assert [entry.action for entry in await repos.audit.since()] == ["trace", "export"]

        phone = await browser.new_context(
            viewport={"width": 390, "height": 844}, storage_state=await context.storage_state()
        )
        small = await phone.new_page()
        await small.goto(f"http://127.0.0.1:{port}/dashboard/overview")
        await small.screenshot(path=str(tmp_path / "phone.png"), full_page=True)
        await phone.close()
        await context.close()

    if os.environ.get("QUETMA_SCREENSHOTS"):  # to look at them
        for shot in tmp_path.glob("*.png"):
            shutil.copy(shot, Path(os.environ["QUETMA_SCREENSHOTS"]) / shot.name)
    for name in ("overview.png", "ward.png", "follow-up.png", "venue.png", "trace.png", "phone.png"):
        assert_not_blank(tmp_path / name)
    assert problems == [], "the pages raised errors in the browser"
