"""Freezing a server process in tests, and knowing when it is really frozen.

`os.kill(pid, SIGSTOP)` returns once the signal is queued, not once the process has stopped.
The kernel hands the signal to one thread (the main one), and only when that thread next runs
does it stop the others. Until then a connection thread that is already running goes on
answering: on a busy machine a `ping` sent right after the kill is answered several
milliseconds later. A test that means "the server no longer answers" must wait for every
thread to show the stopped state first.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

_POLL_SECONDS = 0.005
_STOP_DEADLINE_SECONDS = 10.0


def thread_states(pid: int) -> list[str]:
    """The scheduler state letter of every thread of `pid` ('T' once stopped); [] if it is gone."""
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return []
    states = []
    for task in tasks:
        try:
            stat = (task / "stat").read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue  # a thread that has just exited
        states.append(stat.rpartition(")")[2].split()[0])
    return states


async def freeze(pid: int) -> None:
    """SIGSTOP the process and return once every one of its threads has stopped."""
    os.kill(pid, signal.SIGSTOP)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _STOP_DEADLINE_SECONDS
    while True:
        states = thread_states(pid)
        if states and all(state == "T" for state in states):
            return
        if loop.time() >= deadline:
            raise AssertionError(f"pid {pid} did not stop within {_STOP_DEADLINE_SECONDS:g} s: {states}")
        await asyncio.sleep(_POLL_SECONDS)


def thaw(pid: int) -> None:
    """Let a frozen process run again."""
    os.kill(pid, signal.SIGCONT)
