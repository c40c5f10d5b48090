"""`quetma official|audit|demo-data|report --json`, and the whole officials' story from the command line to the chat."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app.cli import EXIT_BAD_INPUT, EXIT_OK, main
from bot.app.delivery import drain_outbox
from bot.clock import ManualClock
from bot.reports import JSON_KEYS
from bot.venues import venue_request
from storage.database import Repos
from storage.invites import InviteKind
from tests.conftest import START
from tests.harness import BotHarness, button_data, texts

ROOT = Path(__file__).resolve().parent.parent
ADMIN, OFFICIAL, CITIZEN, OTHER = 900001, 6001, 5001, 5002


async def run(clock: ManualClock, *argv: str) -> tuple[int, list[str]]:
    """One `quetma` command in a thread of its own (it runs its own event loop)."""
    lines: list[str] = []
    code = await asyncio.to_thread(main, list(argv), clock=clock, out=lines.append)
    return code, lines


async def test_invite_list_revoke_and_audit(
    cli_env: str, bot: BotHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = await run(bot.clock, "official", "invite", "--region", "Ba Đình, Hà Nội", "--expires", "3d")
    assert code == EXIT_OK and len(out) == 1
    assert out[0].startswith("https://t.me/quetma_test_bot?start=o-")
    assert "Phường Ba Đình, Thành phố Hà Nội" in capsys.readouterr().err
    invite = await bot.repos.invites.get(
        bot.container.signer.verify(out[0].split("start=")[1]).body, InviteKind.OFFICIAL
    )
    assert invite is not None and invite.target == "vn/1/4"
    assert invite.expires_at - invite.created_at == timedelta(days=3)

    said = texts(await bot.send(OFFICIAL, f"/start {out[0].split('start=')[1]}", first_name="Lan"))
    assert any("Phường Ba Đình" in t for t in said)
    code, listing = await run(bot.clock, "official", "list")
    assert code == EXIT_OK
    assert listing == [f"{OFFICIAL}\tvn/1/4\tPhường Ba Đình, Thành phố Hà Nội\tLan\t2026-11-19 09:00"]

    code, audit = await run(bot.clock, "audit", "--since", "2026-11-19")
    assert code == EXIT_OK
    assert [line.split("\t")[1:4] for line in audit] == [
        ["0", "command line", "invite"],
        [str(OFFICIAL), "Lan", "join"],
    ]
    assert (await run(bot.clock, "audit", "--since", "2026-11-20"))[1] == []

    code, revoked = await run(bot.clock, "official", "revoke", str(OFFICIAL))
    assert code == EXIT_OK and revoked == [f"revoked {OFFICIAL} Lan (vn/1/4)"]
    assert await bot.repos.officials.get(OFFICIAL) is None
    assert (await run(bot.clock, "official", "revoke", str(OFFICIAL)))[0] == EXIT_BAD_INPUT
    assert (await run(bot.clock, "official", "list"))[1] == []


@pytest.mark.parametrize(
    "argv",
    [
        ["official", "invite", "--region", "Atlantis"],
        ["official", "invite", "--region", "Hà Nội", "--expires", "forever"],
        ["official", "invite", "--region", "Hà Nội", "--expires", "90d"],
        ["audit", "--since", "19/11/2026"],
        ["demo-data", "--venues", "0", "--days", "3", "--checkins-per-day", "10"],
        ["demo-data", "--venues", "10", "--days", "3", "--checkins-per-day", "10", "--region", "Atlantis"],
    ],
)
async def test_bad_input_exits_2_with_one_line(
    cli_env: str, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = await run(ManualClock(START), *argv)
    assert code == EXIT_BAD_INPUT and out == []
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("quetma:")]
    assert len(errors) == 1


async def test_demo_data_fills_the_days_ending_yesterday_and_the_report_matches(
    cli_env: str, repos: Repos, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = ManualClock(START)
    argv = ["demo-data", "--venues", "300", "--days", "3", "--checkins-per-day", "200", "--seed", "4"]
    code, out = await run(clock, *argv)
    assert code == EXIT_OK, capsys.readouterr().err
    assert "loaded 2026-11-16 .. 2026-11-18 for Thành phố Hà Nội (vn/1)" in out[0]
    progress = capsys.readouterr().err
    assert "[##############################] 100%" in progress
    assert await repos.venues.count() == 300
    days = sorted(await repos.db["visits"].distinct("day"))
    assert days == ["2026-11-16", "2026-11-17", "2026-11-18"]

    code, printed = await run(clock, "report", "--json", "--region", "Hà Nội")
    assert code == EXIT_OK
    figures = json.loads(printed[0])
    assert list(figures) == [*JSON_KEYS, "children"]
    assert figures["checkins"] == await repos.db["visits"].count_documents({"day": "2026-11-18"})
    assert figures["venues_total"] == 300
    assert 0 < figures["venues_with_checkins"] < 300 and figures["inactive_venues"] > 0
    assert len(figures["children"]) == 10

    code, text = await run(clock, "report", "--region", "Hà Nội", "--date", "2026-11-18")
    assert code == EXIT_OK and "Đến ngày 18/11, Thành phố Hà Nội có 300 địa điểm quét mã QR" in "\n".join(
        text
    )

    again = await run(clock, *argv)
    assert again[0] == EXIT_BAD_INPUT
    assert "already has venues" in capsys.readouterr().err


async def test_the_officials_story_end_to_end(cli_env: str, bot: BotHarness) -> None:
    """An admin invites from the CLI; the official subscribes, reads the morning report, finds venues that
    never scan, traces a venue (audited) and alerts exactly the people who were there."""
    regions = bot.container.regions
    hanoi = regions.match_province("Hà Nội")
    ward = regions.match_ward(hanoi.id, "Ba Đình")
    venues = [
        await bot.container.venues.register(venue_request(name=name, address="1 Phố Huế", region=ward))
        for name in ("Quán Phở Thìn", "Hiệu sách Tiền Phong", "Tiệm may Cô Ba")
    ]
    code, out = await run(bot.clock, "official", "invite", "--region", "Hà Nội")
    assert code == EXIT_OK
    await bot.send(OFFICIAL, f"/start {out[0].split('start=')[1]}", first_name="Lan")
    calls = await bot.send(OFFICIAL, "/subscribe")
    await bot.press(OFFICIAL, button_data(calls, "Hà Nội"))

    bot.clock.advance(timedelta(days=3))  # 22/11 09:00
    await bot.send(CITIZEN, f"/start {bot.link_payload(venues[0].code)}")
    bot.clock.advance(timedelta(minutes=15))
    await bot.send(OTHER, f"/start {bot.link_payload(venues[0].code)}")
    await bot.send(OTHER, f"/start {bot.link_payload(venues[1].code)}")
    bot.clock.advance(timedelta(hours=22))  # 23/11 07:15, the morning after

    assert await bot.container.officials.morning_reports.queue(bot.today() - timedelta(days=1)) == 1
    report = await bot.repos.outbox.get(f"official-report:{OFFICIAL}:{hanoi.id}:2026-11-22")
    assert report is not None
    assert "có 3 địa điểm quét mã QR" in report["text"]
    assert "Số địa điểm QR Code có lượt quét mã QR trong ngày 22/11 là 2" in report["text"]
    assert "Tổng số lượt quét mã QR trong ngày là 3 lượt" in report["text"]
    assert "Tổng số người đi/đến check-in tại các địa điểm quét QR trong ngày là 2 người" in report["text"]

    inactive = texts(await bot.send(OFFICIAL, "/inactive"))
    assert any(venues[2].code in t and venues[0].code not in t for t in inactive)

    await bot.send(OFFICIAL, f"/trace {venues[0].code} 2026-11-22 08:00 2026-11-22 12:00", first_name="Lan")
    code, audit = await run(bot.clock, "audit")
    trace = [line.split("\t") for line in audit if "\ttrace\t" in line]
    assert [(t[1], t[2], t[5], t[6], t[7], t[8]) for t in trace] == [
        (str(OFFICIAL), "Lan", venues[0].code, "2026-11-22 08:00", "2026-11-22 12:00", "2")
    ]

    calls = await bot.send(OFFICIAL, f"/exposure {venues[0].code} 2026-11-22 08:00 2026-11-22 12:00")
    await bot.press(OFFICIAL, button_data(calls, "Gửi cảnh báo"))
    bot.api.clear()
    await drain_outbox(bot.container.settings, bot.repos.outbox, bot.repos.users, clock=bot.clock)
    sent = {int(c.params["chat_id"]): c.text or "" for c in bot.api.calls_of("sendMessage")}
    assert {CITIZEN, OTHER} <= set(sent) and set(sent) <= {CITIZEN, OTHER, OFFICIAL}
    assert all("Quán Phở Thìn" in sent[user] for user in (CITIZEN, OTHER))
    assert OFFICIAL in sent and "Báo cáo quét mã QR" in sent[OFFICIAL], "the morning report goes out too"
