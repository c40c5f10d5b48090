"""The `quetma` command line: venues, posters, reports, exit codes, and `run` under signals."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import aiohttp
import pytest
import zxingcpp
from PIL import Image
from prometheus_client.parser import text_string_to_metric_families

from bot.app.cli import EXIT_BAD_INPUT, EXIT_OK, main
from bot.app.processes import free_port
from bot.payload import PayloadKind, sign_payload
from storage.database import Repos
from tests import factories
from tests.botapi import BotApiDouble
from tests.harness import TEST_TOKEN

ROOT = Path(__file__).resolve().parent.parent


def run(*argv: str) -> tuple[int, list[str]]:
    lines: list[str] = []
    code = main(list(argv), out=lines.append)
    return code, lines


def test_venue_add_prints_code_and_deep_link_then_lists_it(cli_env: str) -> None:
    code, out = run(
        "venue", "add", "--name", "Nhà thuốc Tâm An", "--address", "12 Yên Nghĩa",
        "--province", "ha noi", "--ward", "yen nghia", "--category", "clinic", "--capacity", "15",
    )  # fmt: skip
    assert code == EXIT_OK
    venue_code, link = out[0].split()
    assert link.startswith("https://t.me/quetma_test_bot?start=c-" + venue_code + "-")
    code, listing = run("venue", "list")
    assert code == EXIT_OK
    assert listing[0].startswith(venue_code + "\t")
    assert "Nhà thuốc Tâm An" in listing[0] and "Yên Nghĩa" in listing[0]


def test_unknown_province_is_refused_with_suggestions(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run("venue", "add", "--name", "X", "--address", "Y", "--province", "ha nol")
    assert code == EXIT_BAD_INPUT and out == []
    err = capsys.readouterr().err.strip()
    assert "Hà Nội" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize(
    "argv",
    [
        ["venue", "add", "--name", "", "--address", "Y", "--province", "ha noi"],
        ["venue", "add", "--name", "x" * 500, "--address", "Y", "--province", "ha noi"],
        ["venue", "add", "--name", "X", "--address", "Y", "--province", "ha noi", "--capacity", "-3"],
        ["venue", "add", "--name", "X", "--address", "Y", "--province", "ha noi", "--category", "casino"],
        ["poster", "NOTACODE", "-o", "x.png"],
        ["poster", "ABCDEFGH", "-o", "x.jpg"],
        ["report", "--date", "14/10/2021"],
        ["report", "--region", "Atlantis"],
        ["frobnicate"],
    ],
)
def test_bad_input_exits_2_with_one_line(
    cli_env: str, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run(*argv)
    assert code == EXIT_BAD_INPUT
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("quetma")]
    assert len(err) >= 1


def test_poster_png_decodes_to_the_deep_link(cli_env: str, tmp_path: Path) -> None:
    _, out = run("venue", "add", "--name", "Chợ Đồng Xuân", "--address", "Đồng Xuân", "--province", "Hà Nội")
    venue_code, link = out[0].split()
    png, pdf, svg = tmp_path / "p.png", tmp_path / "p.pdf", tmp_path / "q.svg"
    assert run("poster", venue_code, "-o", str(png))[0] == EXIT_OK
    assert run("poster", venue_code, "-o", str(pdf))[0] == EXIT_OK
    assert run("poster", venue_code, "-o", str(svg))[0] == EXIT_OK
    decoded = zxingcpp.read_barcodes(Image.open(png))
    assert [barcode.text for barcode in decoded] == [link]
    assert pdf.read_bytes().startswith(b"%PDF")
    assert b"<svg" in svg.read_bytes()
    missing = run("poster", "ZZZZZZZZ", "-o", str(png))
    assert missing[0] == EXIT_BAD_INPUT


def test_report_json_counts_the_day(cli_env: str) -> None:
    run("venue", "add", "--name", "A", "--address", "B", "--province", "Hà Nội", "--ward", "Ba Đình")
    code, printed = run("report", "--json", "--region", "ha noi", "--date", "2026-11-22")
    assert code == EXIT_OK
    figures = json.loads(printed[0])
    for key in (
        "date",
        "region",
        "venues_total",
        "venues_new",
        "venues_with_checkins",
        "checkins",
        "unique_visitors",
    ):
        assert key in figures
    assert figures["region"] == "vn/1"
    assert figures["checkins"] == 0


def test_missing_username_is_a_configuration_error(cli_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QUETMA_BOT_USERNAME")
    code, _ = run("venue", "add", "--name", "A", "--address", "B", "--province", "Hà Nội")
    assert code == EXIT_BAD_INPUT


def test_run_without_token_explains_how_to_get_one(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run("run")
    assert code == EXIT_BAD_INPUT
    assert "@BotFather" in capsys.readouterr().err


def test_bad_configuration_exits_2(
    cli_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("QUETMA_TZ", "Nowhere/City")
    code, _ = run("venue", "list")
    assert code == EXIT_BAD_INPUT
    assert capsys.readouterr().err.strip().startswith("quetma: configuration error: QUETMA_TZ:")


async def scrape(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, await response.text()


async def test_run_serves_a_check_in_and_its_web_app_on_host_port_and_stops_on_sigterm(
    mongo_uri: str,
    db_name: str,
    repos: Repos,
    botapi: BotApiDouble,
    tmp_path: Path,
) -> None:
    secret = "cli-run-secret"
    port = free_port("127.0.0.1")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "BOT_TOKEN": TEST_TOKEN,
        "TELEGRAM_API_URL": botapi.url,
        "MONGODB_URI": mongo_uri,
        "QUETMA_DB": db_name,
        "QUETMA_SECRET": secret,
        "HOST": "127.0.0.1",
        "PORT": str(port),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run",
        cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        try:
            await botapi.wait_for_poll(timeout=30)
        except AssertionError:
            process.kill()
            raise AssertionError((await process.communicate())[1].decode()[-2000:]) from None
        venue = await repos.venues.create(
            __import__("storage.models", fromlist=["NewVenue"]).NewVenue(
                name="Quán Phở Thìn", address="13 Lò Đúc", category="food", regions=("vn", "vn/1")
            ),
            now=__import__("datetime").datetime.now(__import__("datetime").UTC),
            day="2026-11-22",
            new_code=lambda: "PHOTHINA",
        )
        payload = sign_payload(secret.encode(), PayloadKind.CHECKIN, venue.code)
        botapi.push_update(factories.message_update(4242, f"/start {payload}"))
        sent = await botapi.wait_for(
            "sendMessage", predicate=lambda c: "Quán Phở Thìn" in (c.text or ""), timeout=15
        )
        assert sent[0].params["chat_id"] in (4242, "4242")
        # Long polling serves the same web app as the webhook mode, on HOST:PORT.
        status, body = await scrape(f"http://127.0.0.1:{port}/healthz")
        assert status == 200 and json.loads(body)["database"] == "ok"
        status, body = await scrape(f"http://127.0.0.1:{port}/metrics")
        samples = {
            (sample.name, tuple(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(body)
            for sample in family.samples
        }
        assert samples[("quetma_checkins_total", ())] == 1
        assert samples[("quetma_updates_total", (("type", "message"),))] == 1
        status, _ = await scrape(f"http://127.0.0.1:{port}/dashboard/overview")
        assert status == 401, "the dashboard is served too, asking for a sign-in"
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), timeout=10)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    _, stderr = await process.communicate()
    log = stderr.decode()
    assert process.returncode == 0, log
    assert "QuetMa started: bot @" in log and "mode polling" in log
    assert f"web on 127.0.0.1:{port}" in log
    assert TEST_TOKEN not in log and TEST_TOKEN.split(":")[1] not in log
    assert "Traceback" not in log and " ERROR " not in log, "a normal stop logs no error"
    assert await repos.db["visits"].count_documents({"user_id": 4242}) == 1


async def test_one_off_commands_are_quiet_unless_verbose(tmp_path: Path) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "QUETMA_DATA_DIR": str(tmp_path / "data"),
        "QUETMA_SECRET": "quiet-secret",
    }

    async def venue_list(*flags: str) -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", *flags, "venue", "list",
            cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), timeout=60)
        assert process.returncode is not None
        return process.returncode, out.decode(), err.decode()

    code, out, err = await venue_list()
    assert (code, out, err) == (EXIT_OK, "", ""), "no venues, and nothing about the embedded server"
    code, _, err = await venue_list("-v")
    assert code == EXIT_OK and "SecantusDB" in err


@pytest.mark.parametrize("lenient", ["1_000", "+40", "٤٠"])
def test_venue_add_refuses_lenient_capacities(cli_env: str, lenient: str) -> None:
    code, out = run(
        "venue", "add", "--name", "X", "--address", "Y", "--province", "ha noi", "--capacity", lenient
    )  # fmt: skip
    assert code == EXIT_BAD_INPUT and out == []


async def test_venue_add_takes_a_capacity_with_its_unit(cli_env: str, repos: Repos) -> None:
    code, out = await asyncio.to_thread(
        run, "venue", "add", "--name", "X", "--address", "Y", "--province", "ha noi", "--capacity", "30 người"
    )
    assert code == EXIT_OK
    venue = await repos.venues.get(out[0].split()[0])
    assert venue is not None and venue.capacity == 30


@pytest.mark.parametrize(
    ("ward", "candidates"),
    [
        ("nghia", ["Phường Nghĩa Đô", "Xã Phú Nghĩa", "Phường Yên Nghĩa"]),
        ("an", ["Xã An Khánh", "Xã Thuận An"]),
    ],
)
def test_venue_add_refuses_a_ward_name_several_wards_share(
    cli_env: str, capsys: pytest.CaptureFixture[str], ward: str, candidates: list[str]
) -> None:
    code, out = run("venue", "add", "--name", "X", "--address", "Y", "--province", "ha noi", "--ward", ward)
    assert code == EXIT_BAD_INPUT and out == []
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and all(name in err for name in candidates), err


@pytest.mark.parametrize("ward", ["yen nghia", "Phường Yên Nghĩa", "Yên Ngh"])
def test_venue_add_names_the_region_it_used(cli_env: str, ward: str) -> None:
    code, out = run("venue", "add", "--name", "X", "--address", "Y", "--province", "ha noi", "--ward", ward)
    assert code == EXIT_OK
    assert out[1].startswith("region: Phường Yên Nghĩa, Thành phố Hà Nội (vn/"), out
