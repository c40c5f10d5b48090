"""Scheduled jobs: once per period, catch-up after downtime, the leader lease, the JobQueue triggers."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import pytest

from bot.app.container import Container, build_container
from bot.app.delivery import DeliveryConfig, Sender, build_sender_bot
from bot.app.jobs import AUTO_CHECKOUT, INACTIVE, OFFICIAL_SUMMARIES, OWNER_SUMMARIES, JobRunner
from bot.app.metrics import Metrics
from bot.app.scheduler import LEASE_NAME, Scheduler, SenderFactory
from bot.app.settings import Settings
from bot.clock import ManualClock, local_day
from bot.venues import venue_request
from storage.database import Repos
from storage.models import Venue, VenueSettings
from tests.botapi import BotApiDouble
from tests.conftest import TZ
from tests.harness import BotHarness

OWNER = 7100


@pytest.fixture
async def container(settings: Settings, repos: Repos, clock: ManualClock) -> Container:
    return await build_container(settings, repos, clock=clock)


def job_runner(container: Container, owner: str, metrics: Metrics | None = None) -> JobRunner:
    return JobRunner(
        container.jobs,
        container.repos.job_runs,
        clock=container.clock,
        tz=container.settings.tz,
        owner=owner,
        metrics=metrics,
    )


def scheduler_of(
    container: Container,
    instance: str,
    *,
    metrics: Metrics | None = None,
    sender: SenderFactory | None = None,
) -> Scheduler:
    return Scheduler(
        container.jobs,
        leases=container.repos.leases,
        job_runs=container.repos.job_runs,
        clock=container.clock,
        tz=container.settings.tz,
        sender=sender,
        metrics=metrics,
        instance=instance,
    )


async def make_venue(container: Container, *, owner: int = OWNER, summary_hour: int = 21) -> Venue:
    regions = container.regions
    hanoi = regions.match_province("Hà Nội")
    request = venue_request(
        name="Quán phở Thìn",
        address="13 Lò Đúc",
        region=regions.match_ward(hanoi.id, "Hai Bà Trưng"),
        category="food",
        owner_id=owner,
    )
    venue = await container.venues.register(request)
    return await container.repos.venues.update_settings(venue.code, VenueSettings(summary_hour=summary_hour))


def at(clock: ManualClock, hour: int, minute: int = 0, days: int = 0) -> None:
    clock.set(datetime(2026, 11, 19, hour, minute, tzinfo=TZ) + timedelta(days=days))


async def test_a_job_runs_once_per_period_even_across_restarts(container: Container) -> None:
    calls: list[str] = []

    async def action() -> dict[str, Any]:
        calls.append("ran")
        return {"queued": 3}

    first = job_runner(container, "instance-a")
    assert (await first.run_period("demo", "2026-11-19", action)).ran
    assert not (await first.run_period("demo", "2026-11-19", action)).ran
    restarted = job_runner(container, "instance-b")
    assert not (await restarted.run_period("demo", "2026-11-19", action)).ran
    assert (await restarted.run_period("demo", "2026-11-20", action)).ran
    assert calls == ["ran", "ran"]
    run = await container.repos.job_runs.get("demo", "2026-11-19")
    assert run is not None and run.state == "done" and run.result == {"queued": 3}


async def test_a_run_left_running_by_a_dead_leader_is_taken_over_and_a_failed_one_retried(
    container: Container, clock: ManualClock
) -> None:
    runs = container.repos.job_runs
    assert await runs.begin("demo", "p1", "dead-leader", clock.now(), stale_before=clock.now())
    clock.advance(timedelta(seconds=40))
    successor = job_runner(container, "successor")
    successor.leader_since = clock.now()  # took the lease after the dead leader started the run

    async def ok() -> dict[str, Any]:
        return {}

    assert (await successor.run_period("demo", "p1", ok)).ran

    async def broken() -> dict[str, Any]:
        raise RuntimeError("database hiccup")

    with pytest.raises(RuntimeError):
        await successor.run_period("demo", "p2", broken)
    failed = await runs.get("demo", "p2")
    assert failed is not None and failed.state == "failed" and "hiccup" in (failed.error or "")
    assert (await successor.run_period("demo", "p2", ok)).ran


async def test_catch_up_runs_the_missed_periods_of_today_once(
    container: Container, clock: ManualClock
) -> None:
    at(clock, 9, 20)  # the bot was down since last night and starts at 09:20
    runner = job_runner(container, "leader")
    ran = await runner.catch_up()
    periods = {(o.job, o.period) for o in ran}
    assert {(OWNER_SUMMARIES, f"2026-11-19T{h:02d}") for h in range(10)} <= periods
    assert (OFFICIAL_SUMMARIES, "2026-11-18") in periods  # 07:00 has passed: yesterday's report
    assert (INACTIVE, "2026-11-18") in periods
    assert len(ran) == 12

    assert await runner.catch_up() == []  # nothing twice
    at(clock, 10, 1)
    assert [(o.job, o.period) for o in await runner.catch_up()] == [(OWNER_SUMMARIES, "2026-11-19T10")]


async def test_catch_up_before_the_officials_hour_leaves_their_report_for_later(
    container: Container, clock: ManualClock
) -> None:
    at(clock, 6, 30)
    ran = await job_runner(container, "leader").catch_up()
    assert OFFICIAL_SUMMARIES not in {o.job for o in ran}


async def test_the_hourly_job_queues_real_owner_summaries_that_the_sender_delivers(
    container: Container,
    botapi: BotApiDouble,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    venue = await make_venue(container, summary_hour=9)
    late = await make_venue(container, owner=OWNER + 1, summary_hour=22)
    at(clock, 8, 30)
    await container.repos.checkins.record_visit(venue, 5001, clock.now())
    at(clock, 9, 0)
    bot = build_sender_bot(container.settings, connections=4)
    config = DeliveryConfig(rate=20, poll_interval=0.05)

    def sender(owner: str) -> Sender:
        return Sender(
            container.repos.outbox, container.repos.users, bot, config=config, clock=clock, owner=owner
        )

    scheduler = scheduler_of(container, "only", sender=sender)
    async with bot:
        assert await scheduler.step()  # leader: starts the sender and catches up
        await botapi.wait_for("sendPhoto", predicate=lambda call: call.chat_id == OWNER, timeout=30)
        await scheduler.tick(OWNER_SUMMARIES)  # the 09:00 trigger finds the hour already done
        await scheduler.stop()
    assert await container.repos.outbox.get(f"owner-summary:{venue.code}:2026-11-19") is not None
    assert await container.repos.outbox.get(f"owner-summary:{late.code}:2026-11-19") is None
    assert len([c for c in botapi.calls if c.chat_id == OWNER and c.method.startswith("send")]) == 1
    assert venue.name in (botapi.calls_of("sendPhoto")[0].text or "")


async def test_a_second_instance_takes_the_lease_within_a_minute_of_the_holder_dying(
    container: Container, clock: ManualClock
) -> None:
    metrics_a, metrics_b = Metrics(), Metrics()
    a = scheduler_of(container, "a", metrics=metrics_a)
    b = scheduler_of(container, "b", metrics=metrics_b)
    assert await a.step()
    assert not await b.step()
    for _ in range(3):  # the holder renews every 10 s; the other keeps waiting
        clock.advance(timedelta(seconds=10))
        assert await a.step()
        assert not await b.step()
    lease = await container.repos.leases.get(LEASE_NAME)
    assert lease is not None and lease.holder == "a"

    # `a` dies: it stops renewing. `b` keeps trying every 10 seconds.
    waited = timedelta(0)
    while not await b.step():
        clock.advance(timedelta(seconds=10))
        waited += timedelta(seconds=10)
    assert waited <= timedelta(minutes=1)
    assert b.is_leader and metrics_b.leader._value.get() == 1
    assert not await a.step()  # `a` comes back to life and finds it lost the lease
    assert not a.is_leader and metrics_a.leader._value.get() == 0
    await a.stop()
    await b.stop()


async def test_a_clean_stop_hands_the_lease_over_at_once(container: Container) -> None:
    a = scheduler_of(container, "a")
    b = scheduler_of(container, "b")
    assert await a.step()
    await a.stop()
    assert await b.step()
    await b.stop()


async def test_only_the_leader_runs_triggered_jobs(container: Container, clock: ManualClock) -> None:
    leader, follower = scheduler_of(container, "leader"), scheduler_of(container, "follower")
    assert await leader.step()
    assert not await follower.step()
    at(clock, 21, 0)
    await follower.tick(OWNER_SUMMARIES)
    assert await container.repos.job_runs.get(OWNER_SUMMARIES, "2026-11-19T21") is None
    await leader.tick(OWNER_SUMMARIES)
    run = await container.repos.job_runs.get(OWNER_SUMMARIES, "2026-11-19T21")
    assert run is not None and run.owner == "leader"
    await leader.stop()
    await follower.stop()


async def test_the_auto_checkout_sweep_closes_visits_past_their_time(
    container: Container, clock: ManualClock
) -> None:
    venue = await make_venue(container)
    recorded = await container.repos.checkins.record_visit(venue, 5001, clock.now())
    runner = job_runner(container, "leader", metrics=(metrics := Metrics()))
    assert await runner.auto_checkout() == 0
    clock.advance(timedelta(minutes=venue.settings.auto_checkout_minutes + 1))
    assert (await runner.run_named(AUTO_CHECKOUT)).result == {"closed": 1}
    visit = await container.repos.checkins.get(recorded.id)
    assert visit is not None and visit.checkout_at == recorded.auto_checkout_at
    assert await runner.auto_checkout() == 0
    assert metrics.auto_checkouts._value.get() == 1


async def test_the_inactive_count_is_kept_per_province_with_its_run(
    container: Container, clock: ManualClock
) -> None:
    quiet = await make_venue(container)
    busy = await make_venue(container, owner=OWNER + 1)
    clock.advance(timedelta(days=4))
    await container.repos.checkins.record_visit(busy, 5001, clock.now())
    runner = job_runner(container, "leader", metrics=(metrics := Metrics()))
    outcome = await runner.inactive(local_day(container.clock.now(), container.settings.tz))
    hanoi = quiet.regions[1]
    assert outcome.result["regions"]["vn"] == 1 and outcome.result["regions"][hanoi] == 1
    assert metrics.inactive_venues.labels(hanoi)._value.get() == 1
    run = await container.repos.job_runs.latest(INACTIVE)
    assert run is not None and run.result["regions"][hanoi] == 1


async def test_the_jobqueue_triggers_fire_in_local_time(bot: BotHarness) -> None:
    scheduler = scheduler_of(bot.container, "x")
    scheduler.install(bot.app)
    assert bot.app.job_queue is not None
    jobs = {job.name: job for job in bot.app.job_queue.jobs()}
    assert {OWNER_SUMMARIES, OFFICIAL_SUMMARIES, INACTIVE, AUTO_CHECKOUT, "catch-up"} <= set(jobs)
    official = jobs[OFFICIAL_SUMMARIES].next_t
    assert official is not None and official.astimezone(TZ).time() == time(7, 0)
    hourly = jobs[OWNER_SUMMARIES].next_t
    assert hourly is not None and hourly.astimezone(TZ).minute == 0
    for job in jobs.values():
        job.schedule_removal()
