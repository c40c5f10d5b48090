"""Helpers for the dashboard's tests: officials, a signed-in browser, Mini App initData."""

from __future__ import annotations

import json
import re
from datetime import datetime
from urllib.parse import urlencode

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from bot.app.container import Container
from bot.app.web import TELEGRAM
from bot.signins import init_data_hash
from storage.database import Repos
from storage.models import NewVenue, Venue

PRESIGN = re.compile(r'name="presign" value="([^"]+)"')
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
CARD = re.compile(r'id="card-(\w+)".*?data-value="(-?[\d.]+)"', re.DOTALL)


async def make_official(repos: Repos, user_id: int, region: str, now: datetime, name: str = "Cán bộ") -> None:
    """An official of `region`, appointed as redeeming an invite does."""
    await repos.officials.appoint(user_id, region=region, name=name, invited_by=900001, now=now)


async def make_owner(repos: Repos, user_id: int, ward_path: tuple[str, ...], now: datetime) -> Venue:
    new = NewVenue(
        name="Quán của tôi", address="2 Hàng Bài", category="food", regions=ward_path, owner_id=user_id
    )
    return await repos.venues.create(new, now=now, day=now.date().isoformat(), new_code=lambda: "QQQQQQQ9")


def container_of(client: TestClient) -> Container:
    return client.app[TELEGRAM].container


async def open_link(client: TestClient, token: str) -> ClientResponse:
    """Open a sign-in link as a browser does: the page, then its button."""
    page = await client.get(f"/dashboard/signin/{token}")
    assert page.status == 200
    presign = PRESIGN.search(await page.text())
    assert presign is not None
    return await client.post(
        f"/dashboard/signin/{token}", data={"presign": presign.group(1)}, allow_redirects=False
    )


async def sign_in(client: TestClient, user_id: int) -> ClientResponse:
    """Sign in with a fresh link issued to `user_id` (as `/dashboard` does)."""
    token = await container_of(client).signins.issue_link(user_id)
    return await open_link(client, token)


async def csrf_of(client: TestClient) -> str:
    page = await client.get("/dashboard/overview")
    found = CSRF.search(await page.text())
    assert found is not None
    return found.group(1)


def init_data(bot_token: str, user_id: int, auth_date: datetime, *, first_name: str = "Lan") -> str:
    """Mini App initData signed as Telegram signs it."""
    fields = {
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": json.dumps({"id": user_id, "first_name": first_name, "language_code": "vi"}),
        "auth_date": str(int(auth_date.timestamp())),
    }
    fields["hash"] = init_data_hash(fields, bot_token)
    return urlencode(fields)


async def open_miniapp(client: TestClient, data: str) -> ClientResponse:
    page = await client.get("/dashboard/app")
    presign = PRESIGN.search(await page.text())
    assert presign is not None
    return await client.post(
        "/dashboard/app", data={"presign": presign.group(1), "init_data": data}, allow_redirects=False
    )
