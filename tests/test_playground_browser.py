"""The playground in a real headless Chromium: a poster in the owner's chat, scanned by a citizen."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from bot.app.playground import Playground
from tests.test_dashboard_browser import assert_not_blank, browser
from tests.test_playground import CITIZEN, OWNER, WRITE, chat, said

__all__ = ["browser", "chat"]  # fixtures


async def test_a_citizen_scans_the_poster_in_the_browser(
    browser: Any, chat: tuple[TestClient, Playground], tmp_path: Path
) -> None:
    client, pg = chat
    venue = await pg.container.venues.register(_venue_request(pg))
    await client.post("/api/lang", json={"chat": OWNER, "lang": "en"}, headers=WRITE)
    await client.post("/api/lang", json={"chat": CITIZEN, "lang": "en"}, headers=WRITE)
    page = await browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    await page.goto(str(client.make_url("/")))
    await page.wait_for_selector("#people button", timeout=10_000)
    assert not errors, errors
    await page.get_by_role("button", name="Tuấn").click()
    await page.fill("#text", "/myvenues")
    await page.press("#text", "Enter")
    await said(pg, OWNER, venue.name)
    await page.get_by_role("button", name="Poster").first.click()
    await said(pg, OWNER, f"Poster of {venue.name}", "sendPhoto")
    await page.wait_for_selector(".msg img")
    await page.select_option(".msg select", str(CITIZEN))
    await page.get_by_role("button", name="Scan this QR as").click()
    await said(pg, CITIZEN, f"Checked in at {venue.name}")
    await page.wait_for_selector(f"text=Checked in at {venue.name}")
    shot = Path(os.environ.get("QUETMA_SCREENSHOTS", tmp_path)) / "playground.png"
    await page.screenshot(path=str(shot))
    assert_not_blank(shot)
    await page.close()


def _venue_request(pg: Playground) -> Any:
    from bot.venues import venue_request

    regions = pg.container.regions
    city = regions.match_province("Hà Nội")
    return venue_request(
        name="Cà phê Giảng",
        address="39 Nguyễn Hữu Huân",
        region=regions.match_ward(city.id, "Ba Đình"),
        category="food",
        owner_id=OWNER,
    )
