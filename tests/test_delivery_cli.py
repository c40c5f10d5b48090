"""`quetma outbox status` and `quetma jobs run` for operators."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from telegram import Bot

from bot.app.cli import EXIT_BAD_INPUT, EXIT_OK, main
from bot.app.container import build_container
from bot.app.delivery import DeliveryConfig, Sender, build_sender_bot
from bot.app.settings import Settings
from bot.clock import ManualClock
from bot.venues import venue_request
from storage.database import Repos
from storage.models import VenueSettings
from storage.outbox import OutboundMessage
from tests.botapi import BotApiDouble

ROOT = Path(__file__).resolve().parent.parent


async def quetma(clock: ManualClock, *argv: str) -> tuple[int, list[str]]:
    lines: list[str] = []
    code = await asyncio.to_thread(main, list(argv), clock=clock, out=lines.append)
    return code, lines


async def test_outbox_status_counts_states_reasons_and_unreachable_recipients(
    cli_env: str, settings: Settings, repos: Repos, botapi: BotApiDouble, clock: ManualClock
) -> None:
    messages = [
        OutboundMessage(key=f"m:{i}", kind="owner-summary", chat_id=300 + i, text="x") for i in range(4)
    ]
    messages += [OutboundMessage(key=f"b:{i}", kind="owner-summary", chat_id=999, text="y") for i in range(2)]
    await repos.outbox.enqueue_many(messages, clock.now())
    botapi.block(999)
    bot: Bot = build_sender_bot(settings, connections=4)
    async with bot:
        sender = Sender(repos.outbox, repos.users, bot, config=DeliveryConfig(rate=100), clock=clock)
        await sender.run(until_idle=True)
    await repos.outbox.enqueue(
        OutboundMessage(key="later", kind="exposure", chat_id=5, text="z"), clock.now()
    )

    code, out = await quetma(clock, "outbox", "status")

    assert code == EXIT_OK
    lines = {line.split()[0]: line for line in out}
    assert lines["queued"].startswith("queued       1  (due now 1, oldest due since 2026-11-19 09:00")
    assert lines["sent"].split()[1] == "4"
    assert lines["failed"] == "failed       1  (blocked 1)"
    assert lines["dropped"] == "dropped      1  (blocked 1)"
    assert lines["unreachable"] == "unreachable  1 recipients"
    assert "none running" in lines["sender"]


async def test_jobs_run_queues_owner_summaries_through_the_outbox(
    cli_env: str, settings: Settings, repos: Repos, clock: ManualClock
) -> None:
    container = await build_container(settings, repos, clock=clock)
    hanoi = container.regions.match_province("Hà Nội")
    venue = await container.venues.register(
        venue_request(
            name="Tiệm sách Cũ",
            address="5 Hàng Bài",
            region=container.regions.match_ward(hanoi.id, "Hoàn Kiếm"),
            owner_id=7300,
        ),
    )
    await repos.venues.update_settings(venue.code, VenueSettings(summary_hour=9))

    code, out = await quetma(clock, "jobs", "run", "owner-summaries", "--date", "2026-11-19", "--hour", "9")
    assert (code, out) == (EXIT_OK, ["owner-summaries 2026-11-19T09: queued 1"])
    queued = await repos.outbox.get(f"owner-summary:{venue.code}:2026-11-19")
    assert queued is not None and queued["chat_id"] == 7300 and queued["state"] == "pending"

    code, out = await quetma(clock, "jobs", "run", "owner-summaries", "--date", "2026-11-19", "--hour", "9")
    assert out == ["owner-summaries 2026-11-19T09: queued 0"]  # run again: nothing queued twice
    run = await repos.job_runs.get("owner-summaries", "2026-11-19T09")
    assert run is not None and run.state == "done"

    code, out = await quetma(clock, "jobs", "run", "inactive")
    assert code == EXIT_OK and out[0].startswith("inactive 2026-11-18: ")


@pytest.mark.parametrize(
    "argv",
    [
        ["jobs", "run", "official-summaries", "--hour", "3"],
        ["jobs", "run", "owner-summaries", "--hour", "24"],
        ["jobs", "run", "owner-summaries", "--date", "19/11/2026"],
        ["jobs", "run", "reboot"],
    ],
)
async def test_bad_job_arguments_exit_2(cli_env: str, clock: ManualClock, argv: list[str]) -> None:
    code, out = await quetma(clock, *argv)
    assert code == EXIT_BAD_INPUT and out == []
