"""The embedded SecantusDB launcher: start, share, recover from stale state, stop."""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pymongo import AsyncMongoClient

from bot.app.embedded import CONFIG_FILE, EmbeddedDatabase, EmbeddedDatabaseError, ServerRecord, ServerStatus
from storage.database import Repos
from storage.probe import ping
from tests.processes import freeze

ROOT = Path(__file__).resolve().parents[1]

Launch = Callable[..., EmbeddedDatabase]

USER_PROCESS = """
import asyncio, json, sys
from pathlib import Path

from bot.app.embedded import EmbeddedDatabase
from storage.probe import ping


async def main() -> None:
    db = EmbeddedDatabase(Path(sys.argv[1]), ping=ping)
    uri = await db.start()
    print(json.dumps({"uri": uri, "started_here": db.started_here, "answers": await ping(uri)}))
    if sys.argv[2] == "stop":
        await db.stop()


asyncio.run(main())
"""


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
async def launch(data_dir: Path) -> AsyncIterator[Launch]:
    """Make launchers on the test's data dir; stop them all, and kill a server left behind by a failure."""
    made: list[EmbeddedDatabase] = []

    def make(**options: Any) -> EmbeddedDatabase:
        db = EmbeddedDatabase(data_dir, ping=ping, **options)
        made.append(db)
        return db

    yield make
    for db in made:
        await db.stop()
    record = data_dir / "secantus.json"
    if record.exists():
        pid = ServerRecord.from_json(record.read_text()).pid
        if not gone(pid):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


def recorded(data_dir: Path) -> ServerRecord:
    return ServerRecord.from_json((data_dir / "secantus.json").read_text())


def gone(pid: int) -> bool:
    """Whether no process (not even a zombie) has this pid."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_record(data_dir: Path, *, pid: int, port: int) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    record = ServerRecord(host="127.0.0.1", port=port, pid=pid, started_at="2025-01-01T00:00:00+00:00")
    (data_dir / "secantus.json").write_text(record.to_json())


def clients(data_dir: Path) -> list[str]:
    folder = data_dir / "clients"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def run_user_process(data_dir: Path, mode: str) -> dict[str, Any]:
    """Run a separate QuetMa-like process that uses the launcher; `mode` is 'stop' or 'leave'."""
    done = subprocess.run(
        [sys.executable, "-c", USER_PROCESS, str(data_dir), mode],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


async def test_start_serves_then_stop_removes_server_and_record(launch: Launch, data_dir: Path) -> None:
    db = launch()
    await db.stop()  # stopping before starting is a no-op

    uri, again = await asyncio.gather(db.start(), db.start())

    assert again == uri
    assert db.started_here
    assert db.uri == uri
    assert uri.startswith("mongodb://127.0.0.1:")
    assert await ping(uri)
    record = recorded(data_dir)
    assert record.uri == uri
    assert not gone(record.pid)
    assert os.getsid(record.pid) == record.pid  # its own session: a terminal's Ctrl-C reaches us, not it
    assert (data_dir / "secantus.log").exists()
    assert [name.split("-")[0] for name in clients(data_dir)] == [str(os.getpid())]

    await db.stop()

    assert gone(record.pid)
    assert not (data_dir / "secantus.json").exists()
    assert clients(data_dir) == []
    assert not await ping(uri, timeout=0.5)
    await db.stop()  # idempotent
    with pytest.raises(RuntimeError):
        _ = db.uri


async def test_the_server_sweeps_expired_documents_as_often_as_its_config_file_says(
    launch: Launch, data_dir: Path
) -> None:
    # SecantusDB's own command line drops this setting (sweeping every 60 s regardless), so the
    # tests' `ttl_sweep_seconds = 0` would not hold either: its sweep would delete their past-dated
    # records. A sweep every 50 ms shows the file's value reaches the server.
    data_dir.mkdir(parents=True)
    (data_dir / CONFIG_FILE).write_text("[storage]\nttl_sweep_seconds = 0.05\n", encoding="utf-8")
    uri = await launch().start()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
    try:
        marks = client["ttl_check"]["marks"]
        await marks.create_index("expires_at", expireAfterSeconds=0)
        await marks.insert_one({"expires_at": datetime.now(UTC) - timedelta(days=1)})
        async with asyncio.timeout(20):
            while await marks.count_documents({}):
                await asyncio.sleep(0.05)  # waiting for the server's sweep, not for time to pass
    finally:
        await client.close()


async def test_two_launchers_share_one_server_until_the_last_one_stops(
    launch: Launch, data_dir: Path
) -> None:
    first, second = launch(), launch()

    uris = await asyncio.gather(first.start(), second.start())

    assert uris[0] == uris[1]
    assert sorted([first.started_here, second.started_here]) == [False, True]
    pid = recorded(data_dir).pid

    await first.stop()

    assert not gone(pid)
    assert await ping(uris[1])
    assert recorded(data_dir).pid == pid

    await second.stop()

    assert gone(pid)
    assert not (data_dir / "secantus.json").exists()


async def test_context_manager_starts_and_stops(launch: Launch, data_dir: Path) -> None:
    async with launch() as db:
        assert await ping(db.uri)
        pid = recorded(data_dir).pid

    assert gone(pid)


async def test_record_with_dead_pid_is_replaced(launch: Launch, data_dir: Path) -> None:
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    write_record(data_dir, pid=finished.pid, port=unused_port())

    db = launch()
    uri = await db.start()

    assert db.started_here
    record = recorded(data_dir)
    assert record.pid != finished.pid
    assert await ping(uri)


async def test_record_naming_a_foreign_live_process_is_replaced_without_killing_it(
    launch: Launch, data_dir: Path
) -> None:
    bystander = subprocess.Popen([sys.executable, "-c", "import signal; signal.pause()"])
    try:
        write_record(data_dir, pid=bystander.pid, port=unused_port())

        db = launch()
        uri = await db.start()

        assert db.started_here
        assert recorded(data_dir).pid != bystander.pid
        assert await ping(uri)
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


async def test_malformed_record_is_replaced(launch: Launch, data_dir: Path) -> None:
    data_dir.mkdir(parents=True)
    (data_dir / "secantus.json").write_text("{not json")

    db = launch()
    uri = await db.start()

    assert db.started_here
    assert recorded(data_dir).uri == uri


async def test_killed_server_is_detected_at_next_start(launch: Launch, data_dir: Path) -> None:
    first = launch()
    await first.start()
    killed = recorded(data_dir).pid
    os.kill(killed, signal.SIGKILL)

    second = launch()
    uri = await second.start()

    assert second.started_here
    assert gone(killed)  # reaped, not left as a zombie
    assert recorded(data_dir).pid != killed
    assert await ping(uri)


async def test_hung_server_of_ours_is_terminated_and_replaced(launch: Launch, data_dir: Path) -> None:
    first = launch()
    await first.start()
    hung = recorded(data_dir).pid
    await freeze(hung)

    second = launch()
    uri = await second.start()

    assert second.started_here
    assert gone(hung)
    replacement = recorded(data_dir).pid
    assert replacement != hung
    assert await ping(uri)

    await first.stop()
    assert not gone(replacement)  # the second launcher still uses it
    await second.stop()
    assert gone(replacement)


async def test_another_process_reuses_the_running_server(launch: Launch, data_dir: Path) -> None:
    db = launch()
    uri = await db.start()
    pid = recorded(data_dir).pid

    polite = run_user_process(data_dir, "stop")
    abrupt = run_user_process(data_dir, "leave")

    assert polite == {"uri": uri, "started_here": False, "answers": True}
    assert abrupt == {"uri": uri, "started_here": False, "answers": True}
    assert not gone(pid)
    assert len(clients(data_dir)) == 2  # ours and the one the abrupt process never removed

    await db.stop()  # the abrupt process is dead, so it does not keep the server alive

    assert gone(pid)
    assert clients(data_dir) == []


async def test_missing_python_fails_with_one_line_error(launch: Launch, data_dir: Path) -> None:
    db = launch(python=str(data_dir / "no-such-python"))

    with pytest.raises(EmbeddedDatabaseError) as failure:
        await db.start()

    assert "no-such-python" in str(failure.value)
    assert "\n" not in str(failure.value)
    assert not (data_dir / "secantus.json").exists()
    assert clients(data_dir) == []


async def test_server_exiting_at_start_fails_with_its_last_log_lines(launch: Launch, data_dir: Path) -> None:
    db = launch(log_level="LOUD")

    with pytest.raises(EmbeddedDatabaseError) as failure:
        await db.start()

    message = str(failure.value)
    assert "exited with code 2" in message
    assert "invalid choice: 'LOUD'" in message
    assert "\n" not in message
    assert not (data_dir / "secantus.json").exists()
    assert clients(data_dir) == []
    with (data_dir / "launcher.lock").open("w") as lock:  # released for the next launcher
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_server_record_round_trips_and_rejects_malformed_json() -> None:
    record = ServerRecord(host="127.0.0.1", port=27017, pid=42, started_at="2025-01-01T00:00:00+00:00")

    assert ServerRecord.from_json(record.to_json()) == record
    assert record.uri == "mongodb://127.0.0.1:27017/?directConnection=true&retryWrites=false&journal=true"
    for malformed in ("[]", "{}", '{"host": "h", "port": "1", "pid": 2, "started_at": "t"}', "{"):
        with pytest.raises(ValueError):
            ServerRecord.from_json(malformed)


class Observed:
    """A SupervisionObserver that remembers what it was told, in order."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def database_up(self, up: bool) -> None:
        self.events.append("up" if up else "down")

    def database_restarted(self) -> None:
        self.events.append("restarted")


async def eventually(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Wait for a real condition with a deadline (a process starting takes about a second)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, f"not within {timeout:g} s: {what}"
        await asyncio.sleep(0.05)


async def test_a_supervised_server_killed_with_sigkill_comes_back_on_the_same_port(
    launch: Launch, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    observed = Observed()
    db = launch(supervise=True, restart_delay=0.2, observer=observed)
    uri = await db.start()
    repos = Repos.open(uri, "supervised", tz=ZoneInfo("UTC"), retention_days=21)
    try:
        await repos.meta.get_or_create("before", lambda: "kept")
        killed = recorded(data_dir).pid
        assert db.status() == ServerStatus(state="running", restarts=0, last_exit=None)

        with caplog.at_level(logging.INFO, logger="bot.app.embedded"):
            os.kill(killed, signal.SIGKILL)
            await eventually(lambda: db.status().restarts == 1, "the server is restarted")

        assert db.status() == ServerStatus(state="running", restarts=1, last_exit="was killed by SIGKILL")
        assert gone(killed)  # reaped, not left as a zombie
        replacement = recorded(data_dir)
        assert replacement.pid != killed
        assert replacement.uri == uri == db.uri  # same port: the driver's pool reconnects by itself
        assert await ping(uri)
        # The client opened before the kill answers again and the data survived.
        assert await repos.ping(10.0)
        assert await repos.meta.get_or_create("before", lambda: "lost") == "kept"
        assert observed.events == ["up", "down", "restarted", "up"]
        lines = [r.getMessage() for r in caplog.records if r.name == "bot.app.embedded"]
        assert len(lines) == 1, lines
        assert (
            f"SecantusDB pid {killed} was killed by SIGKILL; restarted it as pid {replacement.pid}"
            in lines[0]
        )
    finally:
        await repos.close()


async def test_stopping_a_supervised_launcher_ends_its_supervision(launch: Launch, data_dir: Path) -> None:
    db = launch(supervise=True, restart_delay=0.05)
    await db.start()
    pid = recorded(data_dir).pid
    assert [t for t in asyncio.all_tasks() if t.get_name() == "secantus-supervisor"]

    await db.stop()

    assert gone(pid)  # stopped on purpose: not restarted
    assert not (data_dir / "secantus.json").exists()
    assert [t for t in asyncio.all_tasks() if t.get_name() == "secantus-supervisor"] == []
    assert db.status().state == "stopped"


async def test_two_supervised_launchers_restart_a_shared_server_once(launch: Launch, data_dir: Path) -> None:
    first, second = launch(supervise=True, restart_delay=0.1), launch(supervise=True, restart_delay=0.1)
    uri, _ = await asyncio.gather(first.start(), second.start())
    killed = recorded(data_dir).pid

    os.kill(killed, signal.SIGKILL)
    await eventually(
        lambda: (
            first.status().state == second.status().state == "running"
            and first.status().restarts + second.status().restarts == 1
        ),
        "one of them restarts the server and the other uses it",
    )

    replacement = recorded(data_dir)
    assert replacement.pid != killed and replacement.uri == uri
    assert await ping(uri)
    assert first.uri == second.uri == uri
