"""The officials' dashboard through the aiohttp test client: who gets in, what they see, what is written."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app.metrics import Metrics
from bot.app.settings import Settings
from bot.app.web import create_app
from bot.clock import ManualClock
from bot.reports import build_report
from bot.signins import secret_key, verify_init_data
from storage.database import Repos
from storage.models import NewVenue
from tests.dashboard_support import (
    CARD,
    container_of,
    csrf_of,
    init_data,
    make_official,
    make_owner,
    open_link,
    open_miniapp,
    sign_in,
)
from tests.harness import TEST_TOKEN
from tests.test_official_report import HANOI, HCMC, REGIONS, WARD_A, WARD_B, D, hand_made_city

ADMIN = 900001
CITIZEN, OWNER = 5001, 5002
WARD_OFFICIAL, PROVINCE_OFFICIAL, COUNTRY_OFFICIAL = 6001, 6002, 6003


@pytest.fixture
async def client(settings: Settings, repos: Repos, clock: ManualClock) -> AsyncIterator[TestClient]:
    """The bot's web app (PTB inside, talking to the Bot API double) with a city's week of check-ins."""
    await hand_made_city(repos)
    now = clock.now()
    await make_official(repos, WARD_OFFICIAL, WARD_A.id, now)
    await make_official(repos, PROVINCE_OFFICIAL, HANOI.id, now)
    await make_official(repos, COUNTRY_OFFICIAL, REGIONS.country().id, now)
    await make_owner(repos, OWNER, WARD_A.path, now)
    await repos.users.touch(
        CITIZEN, display_name="Dân", telegram_language="vi", now=now, expires_at=now + timedelta(days=21)
    )
    app = create_app(settings, clock=clock, metrics=Metrics())
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


async def sessions(repos: Repos) -> int:
    return await repos.db["dashboard_sessions"].count_documents({})


# ---- Who gets in ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("user_id", [CITIZEN, OWNER])
async def test_citizens_and_owners_get_no_session(client: TestClient, repos: Repos, user_id: int) -> None:
    response = await sign_in(client, user_id)
    assert response.status == 403
    assert "quetma_session" not in response.cookies
    assert await sessions(repos) == 0
    assert (await client.get("/dashboard/overview")).status == 401


@pytest.mark.parametrize(
    ("user_id", "home"),
    [
        (WARD_OFFICIAL, WARD_A),
        (PROVINCE_OFFICIAL, HANOI),
        (COUNTRY_OFFICIAL, REGIONS.country()),
        (ADMIN, REGIONS.country()),
    ],
)
async def test_officials_and_admins_land_on_their_region(
    client: TestClient, user_id: int, home: object
) -> None:
    response = await sign_in(client, user_id)
    assert response.status == 303
    assert response.headers["Location"] == "/dashboard/overview"
    cookie = response.cookies["quetma_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/dashboard"
    assert int(cookie["max-age"]) == 8 * 3600
    assert not cookie["secure"]  # plain http in tests; https public URLs get secure cookies
    page = await client.get("/dashboard/overview")
    assert page.status == 200
    assert f"<h1>{home.name}</h1>" in await page.text()  # type: ignore[attr-defined]


async def test_a_link_is_used_once(client: TestClient, repos: Repos) -> None:
    token = await container_of(client).signins.issue_link(WARD_OFFICIAL)
    assert (await client.get(f"/dashboard/signin/{token}")).status == 200  # a link preview uses nothing
    assert (await open_link(client, token)).status == 303
    client.session.cookie_jar.clear()
    replay = await open_link(client, token)
    assert replay.status == 403
    assert "quetma_session" not in replay.cookies
    assert await sessions(repos) == 1


async def test_an_expired_or_forged_link_gets_nothing(
    client: TestClient, clock: ManualClock, repos: Repos
) -> None:
    token = await container_of(client).signins.issue_link(PROVINCE_OFFICIAL)
    clock.advance(timedelta(minutes=10, seconds=1))
    assert (await open_link(client, token)).status == 403
    assert (await open_link(client, token[:-1] + ("A" if token[-1] != "A" else "B"))).status == 403
    assert (await open_link(client, "x" * 43)).status == 403
    assert await sessions(repos) == 0


async def test_links_are_stored_only_as_hashes(client: TestClient, repos: Repos) -> None:
    token = await container_of(client).signins.issue_link(WARD_OFFICIAL)
    stored = await repos.db["dashboard_links"].find_one({})
    assert stored is not None and stored["_id"] == secret_key(token) and token not in str(stored)


async def test_the_sign_in_button_needs_the_form_it_came_with(client: TestClient, repos: Repos) -> None:
    token = await container_of(client).signins.issue_link(WARD_OFFICIAL)
    response = await client.post(f"/dashboard/signin/{token}", data={"presign": "guess"})
    assert response.status == 403
    assert await sessions(repos) == 0
    assert (await open_link(client, token)).status == 303  # the refused POST did not use the link up


async def test_a_session_lasts_eight_hours(client: TestClient, clock: ManualClock) -> None:
    await sign_in(client, PROVINCE_OFFICIAL)
    clock.advance(timedelta(hours=7, minutes=59))
    assert (await client.get("/dashboard/overview")).status == 200
    clock.advance(timedelta(minutes=2))
    assert (await client.get("/dashboard/overview")).status == 401


async def test_a_revoked_official_is_out_at_once(client: TestClient, repos: Repos) -> None:
    await sign_in(client, WARD_OFFICIAL)
    await repos.officials.revoke(WARD_OFFICIAL)
    assert (await client.get("/dashboard/overview")).status == 403


# ---- Telegram Mini App ---------------------------------------------------------------------------------


async def test_miniapp_init_data_signed_by_telegram_opens_a_session(
    client: TestClient, clock: ManualClock
) -> None:
    response = await open_miniapp(
        client, init_data(TEST_TOKEN, PROVINCE_OFFICIAL, clock.now() - timedelta(minutes=2))
    )
    assert response.status == 303
    assert (await client.get("/dashboard/overview")).status == 200


@pytest.mark.parametrize("case", ["forged", "other bot", "stale", "future", "citizen", "empty"])
async def test_miniapp_refuses_forged_stale_and_citizens(
    client: TestClient, clock: ManualClock, repos: Repos, case: str
) -> None:
    now = clock.now()
    data = {
        "forged": init_data(TEST_TOKEN, PROVINCE_OFFICIAL, now).replace("Lan", "Lam"),
        "other bot": init_data("999:" + "A" * 35, PROVINCE_OFFICIAL, now),
        "stale": init_data(TEST_TOKEN, PROVINCE_OFFICIAL, now - timedelta(hours=1, minutes=1)),
        "future": init_data(TEST_TOKEN, PROVINCE_OFFICIAL, now + timedelta(minutes=5)),
        "citizen": init_data(TEST_TOKEN, CITIZEN, now),
        "empty": "",
    }[case]
    response = await open_miniapp(client, data)
    assert response.status == 403
    assert await sessions(repos) == 0


def test_init_data_follows_telegrams_documented_check() -> None:
    # The example of Telegram's documentation, re-signed with the test token: key = HMAC("WebAppData", token).
    import hashlib
    import hmac
    from datetime import UTC, datetime

    now = datetime(2026, 11, 19, tzinfo=UTC)
    fields = {"auth_date": str(int(now.timestamp())), "user": '{"id":42,"first_name":"A"}', "query_id": "q"}
    check = "\n".join(f"{k}={fields[k]}" for k in sorted(fields))
    key = hmac.new(b"WebAppData", TEST_TOKEN.encode(), hashlib.sha256).digest()
    signed = (
        "&".join(f"{k}={v}" for k, v in fields.items())
        + "&hash="
        + hmac.new(key, check.encode(), hashlib.sha256).hexdigest()
    )
    user = verify_init_data(signed, TEST_TOKEN, now=now)
    assert user is not None and user.user_id == 42
    assert verify_init_data(signed + "&user=1", TEST_TOKEN, now=now) is None  # a repeated key


# ---- Region scoping ------------------------------------------------------------------------------------


async def audit_count(repos: Repos) -> int:
    return len(await repos.audit.since())


@pytest.mark.parametrize(
    ("user_id", "allowed", "refused"),
    [
        (WARD_OFFICIAL, [WARD_A.id], [WARD_B.id, HANOI.id, HCMC.id, "vn"]),
        (PROVINCE_OFFICIAL, [HANOI.id, WARD_A.id, WARD_B.id], [HCMC.id, "vn"]),
        (COUNTRY_OFFICIAL, ["vn", HANOI.id, HCMC.id, WARD_A.id], []),
        (ADMIN, ["vn", HCMC.id], []),
    ],
)
async def test_every_page_is_scoped_to_the_region(
    client: TestClient, repos: Repos, user_id: int, allowed: list[str], refused: list[str]
) -> None:
    await sign_in(client, user_id)
    for region in allowed:
        for path in ("/dashboard/overview", "/dashboard/inactive", "/dashboard/inactive.csv"):
            assert (await client.get(path, params={"region": region})).status == 200, (path, region)
    before = await audit_count(repos)
    for region in refused:
        for path in ("/dashboard/overview", "/dashboard/inactive", "/dashboard/inactive.csv"):
            response = await client.get(path, params={"region": region})
            assert response.status == 403, (path, region)
            assert "text/csv" not in response.headers["Content-Type"]
    assert await audit_count(repos) == before, "a refused request writes nothing"
    for path in ("/dashboard/overview", "/dashboard/inactive"):
        assert (await client.get(path, params={"region": "vn/999999"})).status == 404


async def test_venues_outside_the_region_are_refused(client: TestClient) -> None:
    await sign_in(client, PROVINCE_OFFICIAL)
    assert (await client.get("/dashboard/venue/AAAAAAA1")).status == 200
    assert (await client.get("/dashboard/venue/HHHHHHH7")).status == 403  # Ho Chi Minh City
    assert (await client.get("/dashboard/venue/ZZZZZZZZ")).status == 404
    client.session.cookie_jar.clear()
    await sign_in(client, WARD_OFFICIAL)
    assert (await client.get("/dashboard/venue/BBBBBBB3")).status == 403  # another ward of Hanoi


async def test_a_ward_filter_outside_the_region_is_refused(client: TestClient) -> None:
    await sign_in(client, WARD_OFFICIAL)
    response = await client.get("/dashboard/inactive", params={"region": WARD_A.id, "ward": WARD_B.id})
    assert response.status == 403


async def test_signed_out_requests_get_nothing(client: TestClient) -> None:
    for path in ("/dashboard", "/dashboard/overview", "/dashboard/inactive.csv", "/dashboard/venue/AAAAAAA1"):
        response = await client.get(path, allow_redirects=False)
        assert response.status == 401
        assert "/dashboard" in await response.text()


# ---- CSRF ------------------------------------------------------------------------------------------------


async def test_posts_without_the_csrf_token_are_refused(client: TestClient, repos: Repos) -> None:
    await sign_in(client, PROVINCE_OFFICIAL)
    assert (await client.post("/dashboard/signout", allow_redirects=False)).status == 403
    assert (await client.post("/dashboard/signout", data={"csrf": "x"}, allow_redirects=False)).status == 403
    assert (await client.post("/dashboard/language", data={"lang": "en"})).status == 403
    assert await sessions(repos) == 1
    csrf = await csrf_of(client)
    response = await client.post("/dashboard/signout", data={"csrf": csrf}, allow_redirects=False)
    assert response.status == 303
    assert await sessions(repos) == 0
    assert (await client.get("/dashboard/overview")).status == 401


async def test_vietnamese_by_default_english_by_choice(client: TestClient) -> None:
    await sign_in(client, PROVINCE_OFFICIAL)
    page = await (await client.get("/dashboard/overview")).text()
    assert 'lang="vi"' in page and "Lượt quét" in page
    csrf = await csrf_of(client)
    response = await client.post(
        "/dashboard/language",
        data={"csrf": csrf, "lang": "en", "next": "https://evil.example/"},
        allow_redirects=False,
    )
    assert response.headers["Location"] == "/dashboard/overview"
    page = await (await client.get("/dashboard/overview")).text()
    assert 'lang="en"' in page and "Scans" in page


async def test_pages_carry_a_strict_content_policy(client: TestClient) -> None:
    await sign_in(client, PROVINCE_OFFICIAL)
    response = await client.get("/dashboard/overview")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    script = await client.get("/dashboard/static/vendor/uplot/uPlot.iife.min.js")
    assert script.status == 200
    assert (await client.get("/dashboard/static/vendor/uplot/LICENSE")).status == 200


# ---- Numbers -----------------------------------------------------------------------------------------------


async def test_cards_show_the_numbers_of_quetma_report_json(client: TestClient, repos: Repos) -> None:
    await sign_in(client, PROVINCE_OFFICIAL)
    page = await (await client.get("/dashboard/overview", params={"day": D.isoformat()})).text()
    cards = {name: float(value) for name, value in CARD.findall(page)}
    report = (await build_report(repos.stats, REGIONS, HANOI.id, D)).to_json()
    keys = (
        "venues_total",
        "venues_new",
        "venues_with_checkins",
        "checkins",
        "unique_visitors",
        "inactive_venues",
    )
    assert {key: cards[key] for key in keys} == {key: report[key] for key in keys}
    assert cards["checkins"] > 0


async def test_child_rows_follow_the_bulletins_arithmetic(client: TestClient, repos: Repos) -> None:
    from bot.app.dashboard import data

    rows = {row.region: row for row in await data.child_rows(container_of(client), HANOI.id, D)}
    assert len(rows) == len(REGIONS.children(HANOI.id))
    for ward in (WARD_A, WARD_B):
        report = await build_report(repos.stats, REGIONS, ward.id, D)
        row = rows[ward.id]
        assert (
            row.checkins,
            row.visitors,
            row.venues_with_checkins,
            row.venues_total,
            row.inactive_venues,
        ) == (
            report.checkins,
            report.unique_visitors,
            report.venues_with_checkins,
            report.venues_total,
            report.inactive_venues,
        )


async def test_the_default_day_is_yesterday_and_drill_down_links_each_ward(client: TestClient) -> None:
    await sign_in(client, PROVINCE_OFFICIAL)
    page = await (await client.get("/dashboard/overview")).text()
    assert f'value="{D.isoformat()}"' in page  # the clock stands on D + 1
    assert f'href="/dashboard/overview?region={WARD_A.id}&amp;day={D.isoformat()}"' in page
    future = await client.get("/dashboard/overview", params={"day": "2030-01-01"})
    assert future.status == 400


# ---- Follow-up list and its CSV ----------------------------------------------------------------------------


async def test_follow_up_csv_is_the_chats_formula_safe_export_and_is_audited(
    client: TestClient, repos: Repos, clock: ManualClock
) -> None:
    evil = NewVenue(name="=HYPERLINK(1)", address="+84 1", category="shop", regions=WARD_A.path)
    await repos.venues.create(
        evil, now=clock.now() - timedelta(days=10), day="2026-11-09", new_code=lambda: "EEEEEEE1"
    )
    await sign_in(client, WARD_OFFICIAL)
    listing = await (await client.get("/dashboard/inactive")).text()
    assert "EEEEEEE1" in listing
    response = await client.get("/dashboard/inactive.csv")
    assert response.status == 200
    assert response.headers["Content-Disposition"].startswith('attachment; filename="inactive-vn-1-')
    body = await response.read()
    assert body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("Mã,Tên địa điểm,Địa chỉ")
    assert "'=HYPERLINK(1)" in text and "'+84 1" in text
    rows = len(text.splitlines()) - 1
    entries = await repos.audit.since()
    assert [(e.action, e.actor_id, e.region, e.rows) for e in entries] == [
        ("export", WARD_OFFICIAL, WARD_A.id, rows)
    ]


async def test_follow_up_list_is_paged_and_filtered(
    client: TestClient, repos: Repos, clock: ManualClock
) -> None:
    for number in range(60):
        new = NewVenue(
            name=f"Điểm {number}",
            address="1 Lê Lợi",
            category="school" if number < 5 else "shop",
            regions=WARD_B.path,
        )
        await repos.venues.create(
            new,
            now=clock.now() - timedelta(days=20),
            day="2026-10-30",
            new_code=lambda n=number: f"PAGE{n:04d}",
        )
    await sign_in(client, PROVINCE_OFFICIAL)
    first = await (await client.get("/dashboard/inactive", params={"ward": WARD_B.id})).text()
    assert len(re.findall(r'href="/dashboard/venue/PAGE', first)) == 50
    second = await (await client.get("/dashboard/inactive", params={"ward": WARD_B.id, "page": "2"})).text()
    assert len(re.findall(r'href="/dashboard/venue/PAGE', second)) == 10
    schools = await (await client.get("/dashboard/inactive", params={"category": "school"})).text()
    assert len(re.findall(r'href="/dashboard/venue/PAGE', schools)) == 5


def test_every_string_of_the_templates_has_a_vietnamese_translation() -> None:
    from pathlib import Path

    from bot.i18n import translated_ids

    folder = Path(__file__).resolve().parent.parent / "bot" / "app" / "dashboard" / "templates"
    marked = set()
    for template in folder.glob("*.html"):
        marked |= set(re.findall(r"""_\((?:"([^"]+)"|'([^']+)')\)""", template.read_text(encoding="utf-8")))
    messages = {double or single for double, single in marked}
    assert len(messages) > 40
    assert sorted(messages - translated_ids("vi")) == []
