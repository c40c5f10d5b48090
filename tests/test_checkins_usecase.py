"""The check-in use case without Telegram: rules, effects, history and forgetting, on a real database."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.capacity import CapacityAlert
from bot.checkins import (
    Arrival,
    CheckinEffect,
    Checkins,
    Declaration,
    InactiveVenue,
    NotRecorded,
    PartyGrown,
    Recorded,
    UnknownVenue,
)
from bot.clock import ManualClock
from bot.privacy import Privacy
from storage.database import Repos
from storage.errors import Unavailable
from storage.models import HealthAnswers, NewVenue, Venue, VenueSettings
from storage.outbox import OutboundMessage

CITIZEN = 5001
OTHER = 5002
OWNER = 6001
WARD = ("vn", "vn/1", "vn/1/4")
TZ = ZoneInfo("Asia/Ho_Chi_Minh")


async def make_venue(
    repos: Repos, clock: ManualClock, code: str, *, capacity: int | None = None, health: bool = False
) -> Venue:
    new = NewVenue(
        name=f"Quầy {code}",
        address="1 Hàng Bạc",
        category="shop",
        regions=WARD,
        capacity=capacity,
        owner_id=OWNER,
    )
    venue = await repos.venues.create(new, now=clock.now(), day="2026-11-19", new_code=lambda: "", code=code)
    if health:
        venue = await repos.venues.update_settings(code, VenueSettings(health_declaration=True))
    return venue


def use_case(repos: Repos, clock: ManualClock, *effects: CheckinEffect) -> Checkins:
    return Checkins(venues=repos.venues, visits=repos.checkins, clock=clock, effects=effects)


def capacity_alert(repos: Repos) -> CapacityAlert:
    return CapacityAlert(
        venues=repos.venues, visits=repos.checkins, users=repos.users, outbox=repos.outbox, tz=TZ
    )


class Recording:
    """An effect that remembers what it was told."""

    def __init__(self) -> None:
        self.arrivals: list[Arrival] = []

    async def __call__(self, arrival: Arrival) -> None:
        self.arrivals.append(arrival)


async def test_a_scan_records_a_visit_and_runs_the_effects_once(repos: Repos, clock: ManualClock) -> None:
    venue = await make_venue(repos, clock, "AAAA1111", health=True)
    seen = Recording()
    checkins = use_case(repos, clock, seen)
    outcome = await checkins.record(CITIZEN, venue.code)
    assert isinstance(outcome, Recorded)
    assert (outcome.continued, outcome.ask_health_declaration) == (False, True)
    assert outcome.visit.checkin_at == clock.now() and outcome.venue.code == venue.code
    assert [(a.visit.id, a.at, a.added_person) for a in seen.arrivals] == [
        (outcome.visit.id, clock.now(), False)
    ]
    day = await repos.checkins.venue_day(venue.code, "2026-11-19")
    assert (day.checkins, day.visitors, day.people) == (1, 1, 1)


async def test_unknown_and_inactive_venues_record_nothing(repos: Repos, clock: ManualClock) -> None:
    venue = await make_venue(repos, clock, "BBBB2222")
    await repos.venues.set_active(venue.code, False, day="2026-11-19")
    seen = Recording()
    checkins = use_case(repos, clock, seen)
    assert await checkins.record(CITIZEN, "ZZZZZZZZ") == UnknownVenue("ZZZZZZZZ")
    inactive = await checkins.record(CITIZEN, venue.code)
    assert isinstance(inactive, InactiveVenue) and inactive.venue.code == venue.code
    assert seen.arrivals == []
    assert (await checkins.history(CITIZEN)).visits == []


async def test_a_rescan_within_30_minutes_continues_without_effects(repos: Repos, clock: ManualClock) -> None:
    venue = await make_venue(repos, clock, "CCCC3333", health=True)
    seen = Recording()
    checkins = use_case(repos, clock, seen)
    first = await checkins.record(CITIZEN, venue.code)
    clock.advance(timedelta(minutes=29))
    again = await checkins.record(CITIZEN, venue.code)
    assert isinstance(first, Recorded) and isinstance(again, Recorded)
    assert again.continued and not again.ask_health_declaration
    assert again.visit.id == first.visit.id
    assert len(seen.arrivals) == 1
    clock.advance(timedelta(minutes=31))
    later = await checkins.record(CITIZEN, venue.code)
    assert isinstance(later, Recorded) and not later.continued and later.visit.id != first.visit.id
    assert len(seen.arrivals) == 2
    day = await repos.checkins.venue_day(venue.code, "2026-11-19")
    assert (day.checkins, day.visitors) == (2, 1)


async def test_check_out_by_id_or_the_newest_open_visit(repos: Repos, clock: ManualClock) -> None:
    venue = await make_venue(repos, clock, "DDDD4444")
    checkins = use_case(repos, clock)
    outcome = await checkins.record(CITIZEN, venue.code)
    assert isinstance(outcome, Recorded)
    assert await checkins.check_out(OTHER, outcome.visit.id) is None, "not someone else's visit"
    clock.advance(timedelta(minutes=10))
    ended = await checkins.check_out(CITIZEN)
    assert ended is not None and ended.id == outcome.visit.id and ended.checkout_at == clock.now()
    assert await checkins.check_out(CITIZEN) is None
    assert await checkins.check_out(CITIZEN, outcome.visit.id) is None


async def test_add_person_counts_companions_and_runs_the_effects(repos: Repos, clock: ManualClock) -> None:
    venue = await make_venue(repos, clock, "EEEE5555")
    seen = Recording()
    checkins = use_case(repos, clock, seen)
    outcome = await checkins.record(CITIZEN, venue.code)
    assert isinstance(outcome, Recorded)
    grown = await checkins.add_person(CITIZEN, outcome.visit.id)
    assert isinstance(grown, PartyGrown) and grown.visit.party == 2
    assert grown.venue is not None and grown.venue.code == venue.code
    assert [a.added_person for a in seen.arrivals] == [False, True]
    assert await checkins.add_person(OTHER, outcome.visit.id) is None
    assert len(seen.arrivals) == 2
    assert (await repos.checkins.venue_day(venue.code, "2026-11-19")).people == 2


async def test_the_capacity_alert_is_an_effect_of_check_in(repos: Repos, clock: ManualClock) -> None:
    venue = await make_venue(repos, clock, "FFFF6666", capacity=2)
    checkins = use_case(repos, clock, capacity_alert(repos))
    await checkins.record(CITIZEN, venue.code)
    assert await repos.outbox.count(kind="capacity") == 0
    await checkins.record(OTHER, venue.code)
    assert await repos.outbox.count(kind="capacity") == 1
    stored = await repos.outbox.get(f"capacity:{venue.code}:2026-11-19:1:{OWNER}")
    assert stored is not None and "2" in stored["text"]


async def test_a_failing_effect_fails_the_check_in(repos: Repos, clock: ManualClock) -> None:
    venue = await make_venue(repos, clock, "GGGG7777")

    async def broken(_: Arrival) -> None:
        raise RuntimeError("simulated failure")

    with pytest.raises(RuntimeError):
        await use_case(repos, clock, broken).record(CITIZEN, venue.code)


async def test_a_health_declaration_is_taken_once(repos: Repos, clock: ManualClock) -> None:
    venue = await make_venue(repos, clock, "HHHH8888", health=True)
    checkins = use_case(repos, clock)
    outcome = await checkins.record(CITIZEN, venue.code)
    assert isinstance(outcome, Recorded)
    answers = HealthAnswers(symptoms=True, contact=False, travel=False)
    assert await checkins.declare_health(OTHER, outcome.visit.id, answers) is Declaration.REFUSED
    assert await checkins.declare_health(CITIZEN, "0" * 24, answers) is Declaration.REFUSED
    assert await checkins.declare_health(CITIZEN, outcome.visit.id, answers) is Declaration.RECORDED
    assert await checkins.declare_health(CITIZEN, outcome.visit.id, None) is Declaration.ALREADY_RECORDED
    stored = await repos.checkins.get(outcome.visit.id)
    assert stored is not None and stored.health == answers
    day = await repos.checkins.venue_day(venue.code, "2026-11-19")
    assert (day.declared, day.declaration_answered, day.declaration_skipped) == (1, 1, 0)


async def test_history_covers_the_last_14_days_newest_first(repos: Repos, clock: ManualClock) -> None:
    first = await make_venue(repos, clock, "JJJJ9999")
    second = await make_venue(repos, clock, "KKKK0000")
    checkins = use_case(repos, clock)
    await checkins.record(CITIZEN, first.code)
    clock.advance(timedelta(days=1))
    await checkins.record(CITIZEN, second.code)
    history = await checkins.history(CITIZEN)
    assert [v.venue_code for v in history.visits] == [second.code, first.code]
    assert (history.at, history.days) == (clock.now(), 14)
    clock.advance(timedelta(days=13, minutes=1))
    assert [v.venue_code for v in (await checkins.history(CITIZEN)).visits] == [second.code]


async def test_forget_person_deletes_visits_profile_and_pending_messages(
    repos: Repos, clock: ManualClock
) -> None:
    venue = await make_venue(repos, clock, "LLLL1111", capacity=1)
    await repos.users.touch(
        CITIZEN,
        display_name="Lan",
        telegram_language="vi",
        now=clock.now(),
        expires_at=clock.now() + timedelta(days=21),
    )
    await repos.users.touch(
        OWNER,
        display_name="Chủ",
        telegram_language="vi",
        now=clock.now(),
        expires_at=clock.now() + timedelta(days=21),
    )
    checkins = use_case(repos, clock, capacity_alert(repos))
    await checkins.record(CITIZEN, venue.code)
    await checkins.record(OTHER, venue.code)
    privacy = Privacy(
        visits=repos.checkins,
        users=repos.users,
        outbox=repos.outbox,
        venues=repos.venues,
        invites=repos.invites,
        clock=clock,
    )
    assert await privacy.forget_person(CITIZEN) == 1
    assert await repos.users.get(CITIZEN) is None
    assert (await checkins.history(CITIZEN)).visits == []
    assert len((await checkins.history(OTHER)).visits) == 1
    assert (await repos.checkins.venue_day(venue.code, "2026-11-19")).checkins == 2, "counts stay"
    assert await privacy.forget_person(OWNER) == 0
    assert await repos.outbox.count(chat_id=OWNER, state="pending") == 0


async def test_messages_dropped_by_forgetting_expire(repos: Repos, clock: ManualClock) -> None:
    await repos.outbox.enqueue(
        OutboundMessage(key="alert:1", kind="exposure", chat_id=CITIZEN, text="Quầy A, 09:00"), clock.now()
    )
    privacy = Privacy(
        visits=repos.checkins,
        users=repos.users,
        outbox=repos.outbox,
        venues=repos.venues,
        invites=repos.invites,
        clock=clock,
    )
    await privacy.forget_person(CITIZEN)
    dropped = await repos.outbox.get("alert:1")
    assert dropped is not None and dropped["state"] == "dropped"
    assert dropped["expires_at"] > clock.now()


async def test_one_place_at_a_time(repos: Repos, clock: ManualClock) -> None:
    a = await make_venue(repos, clock, "MMMM2222")
    b = await make_venue(repos, clock, "NNNN3333")
    checkins = use_case(repos, clock)
    at_a = await checkins.record(CITIZEN, a.code)
    clock.advance(timedelta(minutes=10))
    at_b = await checkins.record(CITIZEN, b.code)
    assert isinstance(at_a, Recorded) and isinstance(at_b, Recorded)
    left = await repos.checkins.get(at_a.visit.id)
    assert left is not None and left.checkout_at == clock.now()
    clock.advance(timedelta(minutes=10))
    back = await checkins.record(CITIZEN, a.code)
    assert isinstance(back, Recorded) and back.continued and back.returned
    assert back.visit.id == at_a.visit.id and back.visit.checkout_at is None
    open_now = await repos.checkins.open_visits(CITIZEN, clock.now())
    assert [v.id for v in open_now] == [at_a.visit.id]
    ended_b = await repos.checkins.get(at_b.visit.id)
    assert ended_b is not None and ended_b.checkout_at == clock.now()


async def test_a_check_in_waits_on_a_silent_database_only_for_its_patience(clock: ManualClock) -> None:
    """A server that accepts connections and never answers (frozen): the person hears back in time."""
    connections: list[asyncio.StreamWriter] = []

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        await reader.read()

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    frozen = Repos.open(
        f"mongodb://127.0.0.1:{port}/?directConnection=true", "frozen", tz=TZ, retention_days=21
    )
    try:
        checkins = Checkins(venues=frozen.venues, visits=frozen.checkins, clock=clock, patience=0.5)
        started = time.monotonic()
        assert await checkins.record(CITIZEN, "PPPP4444") == NotRecorded("PPPP4444")
        assert time.monotonic() - started < 3
    finally:
        await frozen.close()
        for writer in connections:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_effects_the_database_is_too_slow_for_do_not_undo_the_answer(
    repos: Repos, clock: ManualClock
) -> None:
    venue = await make_venue(repos, clock, "QQQQ5555")

    async def stalled(_: Arrival) -> None:
        raise Unavailable("no answer from the database within 5 s")

    outcome = await use_case(repos, clock, stalled).record(CITIZEN, venue.code)
    assert isinstance(outcome, Recorded) and not outcome.continued
    assert len((await use_case(repos, clock).history(CITIZEN)).visits) == 1
