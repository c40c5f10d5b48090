"""The owner's use cases without Telegram: registering, listing, settings, deactivation, /today."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.clock import ManualClock
from bot.presence import VenueToday
from bot.regions import load_catalogue
from bot.venues import InvalidInput, Venues, poster_card, region_label, venue_request
from storage.database import Repos
from storage.models import Venue

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
OWNER, STAFF, STRANGER = 7101, 7102, 7103
REGIONS = load_catalogue()
HANOI = REGIONS.match_province("Hà Nội")
HOAN_KIEM = REGIONS.match_ward(HANOI.id, "Hoàn Kiếm")


@pytest.fixture
def venues(repos: Repos, clock: ManualClock) -> Venues:
    return Venues(repos.venues, clock, TZ)


@pytest.fixture
def today(repos: Repos, clock: ManualClock) -> VenueToday:
    return VenueToday(repos.venues, repos.checkins, clock, TZ)


async def register(venues: Venues, name: str = "Quán phở Thìn", owner: int | None = OWNER) -> Venue:
    request = venue_request(name=name, address="13 Lò Đúc", region=HOAN_KIEM, category="food", owner_id=owner)
    return await venues.register(request)


async def test_register_stores_the_venue_and_counts_it_in_its_regions(
    venues: Venues, repos: Repos, clock: ManualClock
) -> None:
    venue = await register(venues)
    assert await venues.get(venue.code) == venue
    assert (venue.name, venue.category, venue.owner_id, venue.region_id) == (
        "Quán phở Thìn",
        "food",
        OWNER,
        HOAN_KIEM.id,
    )
    assert venue.created_at == clock.now()
    day = await repos.stats.region_days(HANOI.id, "2026-11-19", "2026-11-19")
    assert day["2026-11-19"].venues_new == 1


async def test_a_member_sees_the_venues_they_own_or_staff_oldest_first(
    venues: Venues, repos: Repos, clock: ManualClock
) -> None:
    first = await register(venues, "Một")
    clock.advance(timedelta(minutes=1))
    other = await register(venues, "Hai", owner=STRANGER)
    await repos.venues.add_staff(other.code, OWNER)
    await register(venues, "Ba", owner=STRANGER)
    assert [v.name for v in await venues.of_member(OWNER)] == [first.name, other.name]
    assert await venues.of_member(STAFF) == []
    assert len(await venues.in_region(HANOI.id)) == 3
    assert await venues.in_region("vn/2") == []


async def test_settings_change_one_thing_each_and_refuse_what_is_out_of_range(venues: Venues) -> None:
    venue = await register(venues)
    venue = await venues.set_summary_hour(venue, 7)
    venue = await venues.set_auto_checkout(venue, 45)
    venue = await venues.set_health_declaration(venue, True)
    venue = await venues.set_summaries_muted(venue, True)
    venue = await venues.set_capacity(venue, 40)
    stored = await venues.get(venue.code)
    assert stored is not None
    settings = stored.settings
    assert (settings.summary_hour, settings.auto_checkout_minutes) == (7, 45)
    assert settings.health_declaration and settings.summaries_muted and stored.capacity == 40
    assert (await venues.set_capacity(stored, None)).capacity is None
    for change in (
        venues.set_summary_hour(stored, 24),
        venues.set_summary_hour(stored, -1),
        venues.set_auto_checkout(stored, 14),
        venues.set_auto_checkout(stored, 1441),
        venues.set_capacity(stored, 0),
        venues.set_capacity(stored, 100_001),
    ):
        with pytest.raises(InvalidInput):
            await change
    again = await venues.get(venue.code)
    assert again is not None and again.settings == settings, "a refused change stores nothing"


async def test_deactivation_is_counted_once_and_reactivation_undoes_it(venues: Venues, repos: Repos) -> None:
    venue = await register(venues)
    off = await venues.set_active(venue, False)
    await venues.set_active(off, False)
    assert not off.active
    day = (await repos.stats.region_days(HANOI.id, "2026-11-19", "2026-11-19"))["2026-11-19"]
    assert day.venues_closed == 1
    on = await venues.set_active(off, True)
    assert on.active and (await venues.get(venue.code)) == on


async def test_today_counts_this_morning_against_yesterday_at_the_same_time(
    venues: Venues, today: VenueToday, repos: Repos, clock: ManualClock
) -> None:
    venue = await register(venues)
    clock.set(clock.now() - timedelta(days=1, hours=1))  # yesterday 08:00
    await repos.checkins.record_visit(venue, STAFF, clock.now())
    clock.advance(timedelta(hours=2))  # yesterday 10:00, after "the same time"
    await repos.checkins.record_visit(venue, STRANGER, clock.now())
    clock.advance(timedelta(hours=22, minutes=30))  # today 08:30
    await repos.checkins.record_visit(venue, STRANGER, clock.now())
    clock.advance(timedelta(minutes=30))  # today 09:00
    figures = await today.of_venue(venue)
    assert figures.at == clock.now()
    assert (figures.today.checkins, figures.today.present, figures.today.busiest_hour) == (1, 1, 8)
    assert (figures.yesterday.checkins, figures.yesterday.visitors) == (1, 1)
    mine = await today.of_member(OWNER)
    assert [f.venue.code for f in mine] == [venue.code]
    assert await today.of_member(STAFF) == []


async def test_the_poster_card_names_the_region_and_carries_the_link(venues: Venues) -> None:
    venue = await register(venues)
    card = poster_card(venue, REGIONS, "https://t.me/quetma_bot?start=x")
    assert (card.name, card.code, card.link) == (venue.name, venue.code, "https://t.me/quetma_bot?start=x")
    assert card.region == "Phường Hoàn Kiếm, Thành phố Hà Nội"
    gone = replace(venue, regions=("vn", "vn/99/1"))
    assert region_label(REGIONS, gone) == "vn/99/1"
