"""The officials' use cases without Telegram: a region's report, inactive venues, tracing, exposure alerts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.app.container import Container, build_container
from bot.app.settings import Settings
from bot.clock import ManualClock
from bot.officials import Access, Actor, BadInput, Refused, Window
from bot.venues import venue_request
from storage.database import Repos
from storage.models import Venue

OFFICIAL = Actor(6001, "Lan")
CITIZEN, OTHER, FORGETFUL = 5001, 5002, 5003


@pytest.fixture
async def container(settings: Settings, repos: Repos, clock: ManualClock) -> Container:
    return await build_container(settings, repos, clock=clock)


def ba_dinh_official(container: Container) -> Access:
    regions = container.regions
    ward = regions.match_ward(regions.match_province("Hà Nội").id, "Ba Đình")
    return Access(OFFICIAL.user_id, ward.id, admin=False)


async def make_venue(
    container: Container, name: str, ward: str = "Ba Đình", province: str = "Hà Nội", owner: int | None = None
) -> Venue:
    regions = container.regions
    region = regions.match_ward(regions.match_province(province).id, ward)
    request = venue_request(name=name, address="12 Phố Huế", region=region, category="food", owner_id=owner)
    return await container.venues.register(request)


async def visit(container: Container, repos: Repos, clock: ManualClock, user: int, venue: Venue) -> None:
    """A person with a profile checks in now."""
    await repos.users.touch(
        user,
        display_name=f"Person {user}",
        telegram_language="vi",
        now=clock.now(),
        expires_at=clock.now() + timedelta(days=21),
    )
    await repos.checkins.record_visit(venue, user, clock.now())


def last_hour(clock: ManualClock) -> Window:
    now = clock.now()
    return Window(now - timedelta(hours=1), now)


async def test_a_trace_lists_the_visits_and_is_audited(
    container: Container, repos: Repos, clock: ManualClock
) -> None:
    venue = await make_venue(container, "Phở Thìn")
    await visit(container, repos, clock, CITIZEN, venue)
    await visit(container, repos, clock, OTHER, venue)
    clock.advance(timedelta(minutes=30))
    trace = await container.officials.tracing.trace_visits(
        ba_dinh_official(container), OFFICIAL, venue.code, last_hour(clock)
    )
    assert sorted(v.user_id for v in trace.visits) == [CITIZEN, OTHER]
    assert set(trace.profiles) == {CITIZEN, OTHER}
    [entry] = await container.officials.audit.since(None)
    assert (entry.actor_id, entry.action, entry.venue_code, entry.rows) == (
        OFFICIAL.user_id,
        "trace",
        venue.code,
        2,
    )


async def test_a_trace_outside_the_area_or_of_no_venue_is_refused_and_not_audited(
    container: Container, clock: ManualClock
) -> None:
    elsewhere = await make_venue(container, "Quán Sài Gòn", ward="Bến Thành", province="Hồ Chí Minh")
    tracing = container.officials.tracing
    with pytest.raises(Refused) as refused:
        await tracing.trace_visits(ba_dinh_official(container), OFFICIAL, elsewhere.code, last_hour(clock))
    assert not isinstance(refused.value, BadInput)
    with pytest.raises(BadInput):
        await tracing.trace_visits(ba_dinh_official(container), OFFICIAL, "ZZZZZZZZ", last_hour(clock))
    assert await container.officials.audit.since(None) == []


async def test_exposure_alerts_go_once_to_each_person_with_a_profile(
    container: Container, repos: Repos, clock: ManualClock
) -> None:
    venue = await make_venue(container, "Bún chả Hương Liên")
    await visit(container, repos, clock, CITIZEN, venue)
    await visit(container, repos, clock, OTHER, venue)
    await visit(container, repos, clock, FORGETFUL, venue)
    await container.privacy.forget_person(FORGETFUL)
    clock.advance(timedelta(minutes=10))
    exposure = container.officials.exposure
    access, window = ba_dinh_official(container), last_hour(clock)
    plan = await exposure.plan_exposure(access, venue.code, window)
    assert (plan.people, plan.already_alerted) == (2, 0)
    sent = await exposure.send_exposure_alerts(access, OFFICIAL, venue.code, window)
    assert sent.queued == 2
    again = await exposure.send_exposure_alerts(access, OFFICIAL, venue.code, window)
    assert again.queued == 0, "nobody is alerted twice"
    assert (await exposure.plan_exposure(access, venue.code, window)).already_alerted == 2
    message = await repos.outbox.get(f"exposure:{venue.code}:{CITIZEN}:{plan.to_alert[CITIZEN][0].id}")
    assert message is not None and "Bún chả Hương Liên" in message["text"]
    actions = [entry.action for entry in await container.officials.audit.since(None)]
    assert actions == ["exposure", "exposure"]


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (timedelta(days=-40), timedelta(0)),  # longer than 31 days
        (timedelta(hours=1), timedelta(hours=2)),  # in the future
        (timedelta(0), timedelta(hours=-1)),  # backwards
        (timedelta(days=-365 * 300), timedelta(days=365 * 300)),  # 1726 → 2326
    ],
)
async def test_sending_alerts_checks_every_rule_of_the_window_again(
    container: Container, repos: Repos, clock: ManualClock, start: timedelta, end: timedelta
) -> None:
    venue = await make_venue(container, "Cà phê Giảng")
    await visit(container, repos, clock, CITIZEN, venue)
    now = clock.now()
    with pytest.raises(BadInput):
        await container.officials.exposure.send_exposure_alerts(
            ba_dinh_official(container), OFFICIAL, venue.code, Window(now + start, now + end)
        )
    assert await repos.outbox.get(f"exposure:{venue.code}:{CITIZEN}:x") is None
    assert await container.officials.audit.since(None) == []


async def test_region_report_defaults_to_yesterday_and_the_whole_area(
    container: Container, repos: Repos, clock: ManualClock
) -> None:
    venue = await make_venue(container, "Phở Thìn")
    await visit(container, repos, clock, CITIZEN, venue)
    clock.advance(timedelta(days=1))
    access = ba_dinh_official(container)
    reports = container.officials.reports
    report = await reports.region_report(access)
    assert (report.region, report.checkins, report.venues_total) == (access.scope, 1, 1)
    assert report.date == (reports.today() - timedelta(days=1)).isoformat()
    with pytest.raises(BadInput):
        await reports.region_report(access, day=reports.today() + timedelta(days=1))
    with pytest.raises(Refused):
        await reports.region_report(access, place="Hồ Chí Minh")


async def test_inactive_venues_lists_venues_without_scans_in_the_area(
    container: Container, repos: Repos, clock: ManualClock
) -> None:
    quiet = await make_venue(container, "Tiệm may", owner=CITIZEN)
    busy = await make_venue(container, "Phở Thìn")
    await make_venue(container, "Quán Sài Gòn", ward="Bến Thành", province="Hồ Chí Minh")
    await repos.users.touch(
        CITIZEN,
        display_name="Owner",
        telegram_language="vi",
        now=clock.now(),
        expires_at=clock.now() + timedelta(days=21),
    )
    clock.advance(timedelta(days=5))
    await visit(container, repos, clock, OTHER, busy)
    inactive = container.officials.inactive
    found = await inactive.inactive_venues(ba_dinh_official(container), days=3)
    assert [venue.code for venue in found.venues] == [quiet.code]
    assert (found.days, found.region.id) == (3, ba_dinh_official(container).scope)
    assert await inactive.owners_reachable(found.venues) == {CITIZEN: True}
    for days in (0, 91):
        with pytest.raises(BadInput):
            await inactive.inactive_venues(ba_dinh_official(container), days=days)
