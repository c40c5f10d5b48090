"""Child processes seen through POSIX and Linux's `/proc`: start, watch, identify, stop.

Nothing here knows what the process is; `bot.app.embedded` uses it for the SecantusDB server.
Where there is no `/proc` the answers that need it are None ("cannot tell"), never a guess.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from collections.abc import Callable
from pathlib import Path

logger = logging.getLogger(__name__)

_POLL_SECONDS = 0.05
_PROC = Path("/proc")


def free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def spawn(python: str, args: list[str], log_path: Path) -> int:
    """Start `python args` in its own session (terminal signals stay with us), output appended to the log."""
    file_actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, str(log_path), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
        (os.POSIX_SPAWN_DUP2, 1, 2),
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return os.posix_spawnp(
        python,
        [python, *args],
        env,
        file_actions=file_actions,
        setsid=True,
        setsigdef=(signal.SIGINT, signal.SIGTERM, signal.SIGHUP),
    )


def exit_code(pid: int) -> int | None:
    """Reap our child if it has exited and return its exit code; None while it runs."""
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return None if pid_alive(pid) else -1
    return os.waitstatus_to_exitcode(status) if done == pid else None


async def wait_for_exit(pid: int) -> str:
    """Wait until the process has exited, reap it if it is our child, and say how it ended."""
    try:
        pidfd: int | None = os.pidfd_open(pid)
    except (AttributeError, OSError):  # no pidfd here (not Linux, an old kernel), or already gone
        pidfd = None
    if pidfd is not None:
        # Readable once every thread has exited: no polling, and the storage lock is free by then.
        loop = asyncio.get_running_loop()
        exited: asyncio.Future[None] = loop.create_future()

        def readable() -> None:
            if not exited.done():
                exited.set_result(None)

        loop.add_reader(pidfd, readable)
        try:
            await exited
        finally:
            loop.remove_reader(pidfd)
            os.close(pidfd)
    else:
        await poll_until(lambda: not pid_alive(pid), float("inf"))
    return _how_it_ended(pid)


def _how_it_ended(pid: int) -> str:
    """Reap an exited child and describe its end; a process not our child just 'exited'."""
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return "exited"  # how it ended is for its parent to know
    if done != pid:
        return "exited"
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    return f"exited with code {code}"


def pid_alive(pid: int, *, reap: bool = False) -> bool:
    """Whether a process runs under `pid`; `reap` collects it if it is our exited child.

    Our own child counts as alive until reaped: its main thread can show as a zombie while other
    threads still exit and hold its files (the WiredTiger lock). Other zombies count as dead.
    """
    if pid <= 0:
        return False
    if reap:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        else:
            return done != pid
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    stat = _proc_stat(pid)
    return not stat or stat[0] != "Z"


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of `/proc/<pid>/stat` after the command name, starting with the state."""
    return _stat_fields(_PROC / str(pid) / "stat")


def _stat_fields(path: Path) -> list[str] | None:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return text.rpartition(")")[2].split()


def stopped(pid: int) -> bool:
    """Whether any thread of the process is stopped (SIGSTOP, a debugger)."""
    try:
        tasks = list((_PROC / str(pid) / "task").iterdir())
    except OSError:
        return False
    for task in tasks:
        fields = _stat_fields(task / "stat")
        if fields and fields[0] in ("T", "t"):
            return True
    return False


def start_ticks(pid: int) -> str:
    """When the process started, in clock ticks since boot ('' if unknown): tells a pid from its reuse."""
    stat = _proc_stat(pid)
    return stat[19] if stat is not None and len(stat) > 19 else ""


def command_line(pid: int) -> list[str] | None:
    """The process's argv; None where there is no `/proc` to ask, [] if the process is gone."""
    if not (_PROC / "self").exists():
        return None
    try:
        raw = (_PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return []
    return [os.fsdecode(part) for part in raw.split(b"\0") if part]


async def live_command_line(pid: int, grace: float) -> list[str] | None:
    """The argv of a live process: [] once it is gone, None where there is no `/proc` to ask."""
    if not pid_alive(pid, reap=True):
        return []
    argv = command_line(pid)
    if argv == []:
        # An exiting process shows no command line yet may still hold its files (the storage lock).
        await poll_until(lambda: not pid_alive(pid, reap=True), grace)
        argv = command_line(pid) if pid_alive(pid, reap=True) else []
    return argv


def flag_value(argv: list[str], flag: str) -> str | None:
    for index, arg in enumerate(argv):
        if arg == flag and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith(flag + "="):
            return arg[len(flag) + 1 :]
    return None


def listens(pid: int, port: int) -> bool | None:
    """Whether `pid` holds the listening TCP socket on `port`; None where `/proc` cannot tell."""
    inodes: set[str] = set()
    tables = 0
    for table in ("tcp", "tcp6"):
        try:
            rows = (_PROC / "net" / table).read_text(encoding="ascii").splitlines()[1:]
        except OSError:
            continue
        tables += 1
        for row in rows:
            fields = row.split()
            if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rpartition(":")[2], 16) == port:
                inodes.add(fields[9])
    if tables == 0:
        return None
    if not inodes:
        return False
    fd_dir = _PROC / str(pid) / "fd"
    try:
        fds = list(fd_dir.iterdir())
    except FileNotFoundError:
        return False
    except OSError:
        return None
    for fd in fds:
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:[") and target[len("socket:[") : -1] in inodes:
                return True
    return False


async def terminate(pid: int, *, stop_grace: float, kill_grace: float) -> bool:
    """SIGTERM the process, give it `stop_grace` seconds to close its files, then SIGKILL.

    Reaps it if it is our child; False if it outlived even SIGKILL's grace.
    """
    if stopped(pid):
        # SIGTERM sent to a stopped process may land on a thread other than the one that acts on it.
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
        await poll_until(lambda: not stopped(pid), kill_grace)
    for sig, grace in ((signal.SIGTERM, stop_grace), (signal.SIGKILL, kill_grace)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        if await poll_until(lambda: not pid_alive(pid, reap=True), grace):
            return True
        logger.warning("pid %d outlived %s", pid, sig.name)
    return False


async def poll_until(condition: Callable[[], bool], timeout: float) -> bool:  # noqa: ASYNC109
    """Check `condition` every few milliseconds until it holds (True) or `timeout` seconds pass (False)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        if condition():
            return True
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(_POLL_SECONDS)
