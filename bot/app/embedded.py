"""Runs a SecantusDB server as a child process next to QuetMa's data and shares it between processes.

SecantusDB is only ever run as a separate program (`bot.app.secantusd`), never imported here. Everything about one server
lives in the data directory:

- `db/`            the WiredTiger storage (one server at a time: WiredTiger locks it);
- `secantus.json`  the running server (`ServerRecord`);
- `secantus.log`   the server's stdout and stderr;
- `secantusd.toml` the server's config file (command-line flags take precedence);
- `launcher.lock`  held while a process checks, starts or stops the server;
- `clients/`       one file per launcher using the server, named `<pid>-<token>`.

A supervised launcher (`supervise=True`, what the bot uses) also watches the server: when it
exits (a crash, kill -9, the OOM killer) it starts a new one on the same storage and the same
port, after a delay that doubles while the server keeps dying. The driver's pooled client then
reconnects to the address it already has; nothing above the launcher is rebuilt. A server that
hangs (SIGSTOP, a debugger) is left alone: only an exit is a fault the launcher can repair.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import secrets
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal, Protocol

from bot.app.processes import (
    exit_code,
    flag_value,
    free_port,
    listens,
    live_command_line,
    pid_alive,
    spawn,
    start_ticks,
    terminate,
    wait_for_exit,
)
from bot.clock import Clock, SystemClock

logger = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
RECORD_FILE = "secantus.json"
LOG_FILE = "secantus.log"
CONFIG_FILE = "secantusd.toml"
# What the child runs: SecantusDB's own command line, with its whole config file applied.
SERVER_MODULE = "bot.app.secantusd"
LOCK_FILE = "launcher.lock"
CLIENTS_DIR = "clients"
STORAGE_DIR = "db"

_POLL_SECONDS = 0.05
_STOP_GRACE_SECONDS = 10.0
_KILL_GRACE_SECONDS = 5.0
_PORT_ATTEMPTS = 3
_LOG_TAIL_LINES = 3
_LOG_LINE_LIMIT = 300
_CONFIG_TEXT = (
    "# SecantusDB settings for QuetMa's embedded server.\n"
    "# The launcher passes --host, --port, --storage-path and --log-level, which take precedence.\n"
)


_RESTART_DELAY_SECONDS = 0.5
_MAX_RESTART_DELAY_SECONDS = 30.0
# A server that has run this long before dying is restarted after the first delay again.
_STABLE_SECONDS = 60.0

ServerState = Literal["running", "restarting", "stopped"]


class EmbeddedDatabaseError(Exception):
    """The embedded SecantusDB server could not be started, reused or stopped."""


@dataclass(frozen=True)
class ServerRecord:
    """A running SecantusDB server, as stored in `<data dir>/secantus.json`."""

    host: str
    port: int
    pid: int
    started_at: str

    @property
    def uri(self) -> str:
        """The MongoDB connection string of this server.

        Retryable writes are off: SecantusDB keeps a record of every retryable write for 30
        minutes (up to 10,000) and prunes them with a scan of all records on every write, so
        with them on a busy server slows from ~900 to ~90 commands a second within a minute
        (docs/benchmarks.md). On loopback there are no elections or network blips to retry.

        Writes are journaled: SecantusDB flushes its journal on its own schedule, so a write
        acknowledged less than a second before the server is killed (kill -9, the OOM killer)
        is lost with the default write concern; the supervisor restarts the server, and what
        was acknowledged must be there. A journaled write costs no measurable throughput here.
        """
        return f"mongodb://{self.host}:{self.port}/?directConnection=true&retryWrites=false&journal=true"

    def to_json(self) -> str:
        """The record as a JSON document."""
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> ServerRecord:
        """Parse a record, raising `ValueError` when it is malformed."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("the server record is not a JSON object")
        host, port, pid, started_at = (data.get(k) for k in ("host", "port", "pid", "started_at"))
        if not isinstance(host, str) or not isinstance(started_at, str):
            raise ValueError("the server record lacks host or started_at")
        if type(port) is not int or type(pid) is not int:
            raise ValueError("the server record lacks an integer port or pid")
        return cls(host=host, port=port, pid=pid, started_at=started_at)


class _PortTaken(Exception):
    """The server lost the race for its port to another program."""


@dataclass(frozen=True)
class ServerStatus:
    """What a launcher knows of its server, for /healthz."""

    state: ServerState
    restarts: int  # how many times this launcher started the server again after it died
    last_exit: str | None  # how the server last died, e.g. "was killed by SIGKILL"


class SupervisionObserver(Protocol):
    """Told when the supervised server goes down or up and when it is restarted (the metrics)."""

    def database_up(self, up: bool) -> None: ...

    def database_restarted(self) -> None: ...


class EmbeddedDatabase:
    """Starts, reuses and stops the SecantusDB server that serves one data directory."""

    def __init__(
        self,
        data_dir: Path,
        *,
        ping: Callable[[str], Awaitable[bool]],
        python: str = sys.executable,
        start_timeout: float = 30.0,
        log_level: str = "WARNING",
        clock: Clock | None = None,
        supervise: bool = False,
        restart_delay: float = _RESTART_DELAY_SECONDS,
        max_restart_delay: float = _MAX_RESTART_DELAY_SECONDS,
        observer: SupervisionObserver | None = None,
    ) -> None:
        self._data_dir = Path(data_dir).resolve()
        self._ping = ping
        self._python = python
        self._start_timeout = start_timeout
        self._log_level = log_level
        self._clock: Clock = clock or SystemClock()
        self._record: ServerRecord | None = None
        self._client_file: Path | None = None
        self._started_here = False
        self._busy = asyncio.Lock()  # one start(), stop() or restart of this launcher at a time
        self._supervise = supervise
        self._restart_delay = restart_delay
        self._max_restart_delay = max_restart_delay
        self._observer = observer
        self._supervisor: asyncio.Task[None] | None = None
        self._state: ServerState = "stopped"
        self._restarts = 0
        self._last_exit: str | None = None

    @property
    def data_dir(self) -> Path:
        """The directory holding the storage, the record, the log and the lock."""
        return self._data_dir

    @property
    def uri(self) -> str:
        """The connection string of the server in use; only valid after `start()`."""
        if self._record is None:
            raise RuntimeError("EmbeddedDatabase.uri read before start()")
        return self._record.uri

    @property
    def started_here(self) -> bool:
        """Whether this launcher started the server (rather than reusing a running one)."""
        return self._started_here

    def status(self) -> ServerStatus:
        """The server's state as this launcher sees it."""
        return ServerStatus(state=self._state, restarts=self._restarts, last_exit=self._last_exit)

    @property
    def _record_path(self) -> Path:
        return self._data_dir / RECORD_FILE

    @property
    def _storage_path(self) -> Path:
        return self._data_dir / STORAGE_DIR

    @property
    def _log_path(self) -> Path:
        return self._data_dir / LOG_FILE

    @property
    def _clients_dir(self) -> Path:
        return self._data_dir / CLIENTS_DIR

    async def start(self) -> str:
        """Reuse the live server recorded for the data directory, or start one; return its URI."""
        async with self._busy:
            uri = await self._start()
        if self._supervise and self._supervisor is None:
            self._supervisor = asyncio.create_task(self._watch(), name="secantus-supervisor")
        return uri

    async def stop(self) -> None:
        """Stop using the server; stop the server itself only if no other live launcher uses it."""
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is not None:
            supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await supervisor
        async with self._busy:
            await self._stop()

    async def _start(self) -> str:
        if self._record is not None:
            return self._record.uri
        _prepare_data_dir(self._data_dir)
        async with self._launcher_lock():
            stale = _read_record(self._record_path)
            record = await self._reusable_record()
            started_here = record is None
            if record is None:
                # The port of a server that died is tried first: clients still holding its
                # address (another launcher's driver) reconnect without being rebuilt.
                record = await self._launch(port=None if stale is None else stale.port)
                try:
                    _write_record(self._record_path, record)
                except BaseException:
                    await _terminate(record.pid)
                    raise
            self._client_file = _register_client(self._clients_dir)
        self._record = record
        self._started_here = started_here
        self._set_state("running")
        logger.info(
            "%s SecantusDB pid %d at %s:%d",
            "started" if started_here else "reusing",
            record.pid,
            record.host,
            record.port,
        )
        return record.uri

    async def _stop(self) -> None:
        client_file, self._client_file = self._client_file, None
        self._record = None
        if client_file is None:
            return
        self._set_state("stopped")
        async with self._launcher_lock():
            client_file.unlink(missing_ok=True)
            others = _live_clients(self._clients_dir)
            if others:
                logger.info("leaving SecantusDB running for %d other user(s)", others)
                return
            record = _read_record(self._record_path)
            argv = [] if record is None else await live_command_line(record.pid, _KILL_GRACE_SECONDS)
            if record is not None and argv != []:
                if argv is None or _serves_storage(argv, self._storage_path):
                    await _terminate(record.pid)
                else:
                    logger.warning(
                        "pid %d in %s is not our SecantusDB; not stopping it", record.pid, RECORD_FILE
                    )
            self._record_path.unlink(missing_ok=True)

    async def __aenter__(self) -> EmbeddedDatabase:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @contextlib.asynccontextmanager
    async def _launcher_lock(self) -> AsyncIterator[None]:
        """Hold `launcher.lock` exclusively; polled so that the event loop keeps running meanwhile."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._start_timeout + 2 * (_STOP_GRACE_SECONDS + _KILL_GRACE_SECONDS)
        fd = os.open(self._data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if loop.time() >= deadline:
                        raise EmbeddedDatabaseError(
                            f"another process has held {self._data_dir / LOCK_FILE} for too long"
                        ) from None
                    await asyncio.sleep(_POLL_SECONDS)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    async def _reusable_record(self) -> ServerRecord | None:
        """The recorded server if it is alive and answers; otherwise clear the stale record."""
        record = _read_record(self._record_path)
        if record is None:
            return None
        pid = record.pid
        argv = await live_command_line(pid, _KILL_GRACE_SECONDS)
        if argv is None or argv:
            on_our_storage = argv is not None and _serves_storage(argv, self._storage_path)
            as_recorded = (
                on_our_storage and argv is not None and flag_value(argv, "--port") == str(record.port)
            )
            if (argv is None or as_recorded) and await self._ping(record.uri):
                return record
            # Whatever runs on our storage holds the WiredTiger lock a new server needs.
            if on_our_storage:
                logger.warning("SecantusDB pid %d does not answer; terminating it", pid)
                await _terminate(pid)
            else:
                logger.warning("pid %d from %s is not our SecantusDB; ignoring it", pid, RECORD_FILE)
        else:
            logger.info("SecantusDB pid %d from %s is gone; starting a new server", pid, RECORD_FILE)
        self._record_path.unlink(missing_ok=True)
        return None

    async def _launch(self, *, port: int | None = None, same_port: bool = False) -> ServerRecord:
        """Start a server on `port` (else a free loopback port) and wait until it answers.

        With `same_port` only `port` will do; otherwise a free port follows when it is taken.
        """
        config = _ensure_config(self._data_dir / CONFIG_FILE)
        wanted = port
        for attempt in range(1, _PORT_ATTEMPTS + 1):
            port = wanted if wanted is not None and (same_port or attempt == 1) else free_port(LOOPBACK)
            argv = [
                *("-m", SERVER_MODULE, "--config", str(config)),
                *("--host", LOOPBACK, "--port", str(port)),
                *("--storage-path", str(self._storage_path), "--log-level", self._log_level),
            ]
            started_at = self._clock.now().isoformat()
            offset = _append_log(
                self._log_path, f"--- {started_at} starting SecantusDB on {LOOPBACK}:{port}\n"
            )
            try:
                pid = spawn(self._python, argv, self._log_path)
            except OSError as exc:
                raise EmbeddedDatabaseError(
                    f"cannot run {self._python!r} to start SecantusDB: {exc.strerror}"
                ) from exc
            record = ServerRecord(host=LOOPBACK, port=port, pid=pid, started_at=started_at)
            try:
                await self._wait_until_ready(record, offset)
            except _PortTaken:
                if same_port:
                    raise EmbeddedDatabaseError(
                        f"port {port} on {LOOPBACK} is taken by another program; SecantusDB needs it back"
                    ) from None
                logger.info("port %d was taken before SecantusDB bound it (attempt %d)", port, attempt)
                continue
            except BaseException:
                await _terminate(pid)
                raise
            return record
        raise EmbeddedDatabaseError(
            f"SecantusDB could not bind a free port on {LOOPBACK} in {_PORT_ATTEMPTS} attempts"
        )

    async def _wait_until_ready(self, record: ServerRecord, log_offset: int) -> None:
        """Return once the child listens and answers; raise if it exits or the timeout passes."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._start_timeout
        where = f"{record.host}:{record.port}"
        while True:
            code = exit_code(record.pid)
            if code is not None:
                tail = _log_tail(self._log_path, log_offset)
                if "Address already in use" in tail:
                    raise _PortTaken
                raise EmbeddedDatabaseError(
                    f"SecantusDB exited with code {code} before answering on {where}: {tail} "
                    f"(log: {self._log_path})"
                )
            # A foreign server that grabbed the port would answer the ping too: only trust our own child.
            if listens(record.pid, record.port) is not False and await self._ping(record.uri):
                if exit_code(record.pid) is None:
                    return
                continue
            if loop.time() >= deadline:
                tail = _log_tail(self._log_path, log_offset)
                raise EmbeddedDatabaseError(
                    f"SecantusDB did not answer on {where} within {self._start_timeout:g} s: {tail} "
                    f"(log: {self._log_path})"
                )
            await asyncio.sleep(_POLL_SECONDS)

    def _set_state(self, state: ServerState) -> None:
        self._state = state
        if self._observer is not None:
            self._observer.database_up(state == "running")

    async def _watch(self) -> None:
        """Start the server again each time it exits, until `stop()` cancels this task."""
        loop = asyncio.get_running_loop()
        deaths = 0  # in a row, each after less than _STABLE_SECONDS of running: sets the delay
        while (dead := self._record) is not None:
            up_since = loop.time()
            how = await wait_for_exit(dead.pid)
            deaths = 1 if loop.time() - up_since >= _STABLE_SECONDS else deaths + 1
            self._last_exit = how
            self._set_state("restarting")
            down_since = loop.time()
            while True:
                delay = min(self._restart_delay * 2 ** min(deaths - 1, 16), self._max_restart_delay)
                await asyncio.sleep(delay)
                try:
                    record, started = await self._restart(dead)
                except (EmbeddedDatabaseError, OSError) as exc:
                    deaths += 1
                    logger.warning(
                        "SecantusDB pid %d %s and could not be started again: %s", dead.pid, how, exc
                    )
                    continue
                break
            self._record = record
            if started:
                self._restarts += 1
                if self._observer is not None:
                    self._observer.database_restarted()
            self._set_state("running")
            logger.warning(
                "SecantusDB pid %d %s; %s pid %d on %s:%d after %.1f s",
                dead.pid,
                how,
                "restarted it as" if started else "another launcher restarted it as",
                record.pid,
                record.host,
                record.port,
                loop.time() - down_since,
            )

    async def _restart(self, dead: ServerRecord) -> tuple[ServerRecord, bool]:
        """A server in place of `dead`, on its port: (record, True) if we started it, False if reused."""
        async with self._busy, self._launcher_lock():
            current = _read_record(self._record_path)
            if current is not None and current.pid != dead.pid:
                # Another launcher of this data directory was quicker: use its server if it answers.
                reused = await self._reusable_record()
                if reused is not None:
                    if reused.port != dead.port:
                        logger.warning(
                            "SecantusDB now listens on port %d instead of %d", reused.port, dead.port
                        )
                    return reused, False
            self._record_path.unlink(missing_ok=True)
            record = await self._launch(port=dead.port, same_port=True)
            try:
                _write_record(self._record_path, record)
            except BaseException:
                await _terminate(record.pid)
                raise
            return record, True


def _prepare_data_dir(data_dir: Path) -> None:
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EmbeddedDatabaseError(f"cannot create the data directory {data_dir}: {exc.strerror}") from exc


def _ensure_config(path: Path) -> Path:
    """Create an empty server config so that no `secantusd.toml` elsewhere is picked up."""
    if not path.exists():
        path.write_text(_CONFIG_TEXT, encoding="utf-8")
    return path


def _read_record(path: Path) -> ServerRecord | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        return ServerRecord.from_json(text)
    except ValueError as exc:
        logger.warning("ignoring malformed %s: %s", path, exc)
        return None


def _write_record(path: Path, record: ServerRecord) -> None:
    """Write the record so that readers see either the old file or the whole new one."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as file:
        file.write(record.to_json())
        file.flush()
        os.fsync(file.fileno())
    os.replace(tmp, path)


def _append_log(path: Path, line: str) -> int:
    """Append a line to the server log and return the offset just past it."""
    with path.open("ab") as file:
        file.write(line.encode("utf-8"))
        return file.tell()


def _log_tail(path: Path, offset: int) -> str:
    """The last few non-empty lines written to the log since `offset`, joined into one line."""
    try:
        with path.open("rb") as file:
            file.seek(offset)
            text = file.read().decode("utf-8", errors="replace")
    except OSError:
        return "(no log)"
    lines = [line.strip()[:_LOG_LINE_LIMIT] for line in text.splitlines() if line.strip()]
    return " | ".join(lines[-_LOG_TAIL_LINES:]) or "(the log is empty)"


def _serves_storage(argv: list[str], storage: Path) -> bool:
    """Whether the command line is a SecantusDB server on our storage path."""
    # `secantus` itself: a server started by an earlier QuetMa still counts as ours.
    server = SERVER_MODULE in argv or "secantus" in argv
    return server and flag_value(argv, "--storage-path") == str(storage)


async def _terminate(pid: int) -> None:
    """Stop the server, giving it time to close its storage; an unkillable one is an error."""
    if not await terminate(pid, stop_grace=_STOP_GRACE_SECONDS, kill_grace=_KILL_GRACE_SECONDS):
        raise EmbeddedDatabaseError(f"SecantusDB pid {pid} does not die")


def _register_client(clients_dir: Path) -> Path:
    """Record this launcher as a user of the server."""
    clients_dir.mkdir(exist_ok=True)
    pid = os.getpid()
    path = clients_dir / f"{pid}-{secrets.token_hex(4)}"
    path.write_text(start_ticks(pid), encoding="ascii")
    return path


def _live_clients(clients_dir: Path) -> int:
    """Count the launchers of live processes, deleting the files of dead ones."""
    try:
        paths = list(clients_dir.iterdir())
    except FileNotFoundError:
        return 0
    live = 0
    for path in paths:
        if _client_alive(path):
            live += 1
        else:
            path.unlink(missing_ok=True)
    return live


def _client_alive(path: Path) -> bool:
    pid_text = path.name.partition("-")[0]
    if not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if not pid_alive(pid):
        return False
    try:
        recorded = path.read_text(encoding="ascii").strip()
    except OSError:
        return False
    current = start_ticks(pid)
    return not recorded or not current or recorded == current
