"""Tracing and exposure alerts from the dashboard: the chat's use cases, audit and idempotence, within the region."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app.metrics import Metrics
from bot.app.settings import Settings
from bot.app.web import create_app
from bot.clock import ManualClock
from storage.database import Repos
from tests.dashboard_support import csrf_of, make_official, sign_in
from tests.test_official_report import HANOI, WARD_A, WARD_B, at, hand_made_city, venue

WARD_OFFICIAL, PROVINCE_OFFICIAL = 6001, 6002
WINDOW = {"start": "2026-11-18T08:00", "end": "2026-11-18T13:00"}


@pytest.fixture
async def client(settings: Settings, repos: Repos, clock: ManualClock) -> AsyncIterator[TestClient]:
    await hand_made_city(repos)
    now = clock.now()
    for person in range(
        7001, 7006
    ):  # the visitors of the hand-made city have profiles, so they can be alerted
        await repos.users.touch(
            person,
            display_name=f"Người {person}",
            telegram_language="vi",
            now=now,
            expires_at=now + timedelta(days=21),
        )
    # Venues with codes people can type (the hand-made city's codes are not of the printed shape).
    cafe = await venue(repos, "TRACEXH2", WARD_A.path, "2026-11-01")
    await venue(repos, "WARDBXH3", WARD_B.path, "2026-11-01")
    await repos.checkins.record_visit(cafe, 7001, at("2026-11-18", 9))
    await repos.checkins.record_visit(cafe, 7001, at("2026-11-18", 12))
    await repos.checkins.record_visit(cafe, 7002, at("2026-11-18", 10))
    await make_official(repos, WARD_OFFICIAL, WARD_A.id, now)
    await make_official(repos, PROVINCE_OFFICIAL, HANOI.id, now)
    app = create_app(settings, clock=clock, metrics=Metrics())
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


async def test_a_trace_answers_the_chats_csv_and_is_audited(client: TestClient, repos: Repos) -> None:
    await sign_in(client, PROVINCE_OFFICIAL)
    csrf = await csrf_of(client)
    response = await client.post("/dashboard/trace", data={"csrf": csrf, "code": "TRACEXH2", **WINDOW})
    assert response.status == 200
    assert (
        response.headers["Content-Disposition"] == 'attachment; filename="trace-TRACEXH2-20261118-0800.csv"'
    )
    text = (await response.read()).decode("utf-8-sig")
    assert "Người 7001" in text and "Người 7002" in text
    visits = len(text.splitlines()) - 1
    assert visits == 3
    [entry] = await repos.audit.since()
    assert (entry.action, entry.actor_id, entry.venue_code, entry.rows) == (
        "trace",
        PROVINCE_OFFICIAL,
        "TRACEXH2",
        visits,
    )


async def test_a_trace_outside_the_region_or_without_csrf_gets_nothing_and_writes_nothing(
    client: TestClient, repos: Repos
) -> None:
    await sign_in(client, WARD_OFFICIAL)
    csrf = await csrf_of(client)
    outside = await client.post("/dashboard/trace", data={"csrf": csrf, "code": "WARDBXH3", **WINDOW})
    assert outside.status == 403
    assert "text/csv" not in outside.headers["Content-Type"]
    forged = await client.post("/dashboard/trace", data={"code": "TRACEXH2", **WINDOW})
    assert forged.status == 403
    bad = await client.post(
        "/dashboard/trace", data={"csrf": csrf, "code": "TRACEXH2", "start": "", "end": ""}
    )
    assert bad.status == 400
    assert await repos.audit.since() == []


async def test_an_exposure_alert_asks_first_then_alerts_each_person_once(
    client: TestClient, repos: Repos
) -> None:
    await sign_in(client, PROVINCE_OFFICIAL)
    csrf = await csrf_of(client)
    form = {"csrf": csrf, "code": "TRACEXH2", **WINDOW}
    plan = await client.post("/dashboard/exposure", data=form)
    assert plan.status == 200
    assert 'id="exposure-confirm"' in await plan.text()
    assert await repos.outbox.count(kind="exposure") == 0
    assert await repos.audit.since() == []

    sent = await client.post("/dashboard/exposure", data={**form, "confirm": "yes"})
    assert 'id="exposure-queued"' in await sent.text()
    assert await repos.outbox.count(kind="exposure") == 2  # two people, one of them there twice
    again = await client.post("/dashboard/exposure", data={**form, "confirm": "yes"})
    assert 'id="exposure-confirm"' not in await again.text()
    assert await repos.outbox.count(kind="exposure") == 2
    assert [entry.action for entry in await repos.audit.since()] == ["exposure"]


async def test_the_alerts_delivery_shows_on_the_page_and_stays_within_the_region(
    client: TestClient, repos: Repos, clock: ManualClock
) -> None:
    await sign_in(client, PROVINCE_OFFICIAL)
    csrf = await csrf_of(client)
    sent = await client.post(
        "/dashboard/exposure", data={"csrf": csrf, "code": "TRACEXH2", "confirm": "yes", **WINDOW}
    )
    page = await sent.text()
    assert 'id="progress-queued">2<' in page and 'id="progress-sent">0<' in page
    # The sender delivers one alert; the other person has blocked the bot.
    keys = sorted([key async for key in exposure_keys(repos)])
    now = clock.now()
    await repos.outbox.collection.update_one({"_id": keys[0]}, {"$set": {"state": "sent", "sent_at": now}})
    await repos.outbox.collection.update_one(
        {"_id": keys[1]}, {"$set": {"state": "dropped", "reason": "blocked"}}
    )
    progress = await client.get("/dashboard/exposure/progress", params={"code": "TRACEXH2", **WINDOW})
    text = await progress.text()
    assert 'id="progress-queued">0<' in text
    assert 'id="progress-sent">1<' in text
    assert 'id="progress-undelivered">1<' in text
    client.session.cookie_jar.clear()
    await sign_in(client, WARD_OFFICIAL)
    other = await client.get("/dashboard/exposure/progress", params={"code": "WARDBXH3", **WINDOW})
    assert other.status == 403


async def exposure_keys(repos: Repos) -> AsyncIterator[str]:
    async for doc in repos.outbox.collection.find({"kind": "exposure"}, {"_id": 1}):
        yield doc["_id"]
