"""Reachability check for a MongoDB-compatible server."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError
from pymongo.uri_parser import parse_uri


async def ping(uri: str, timeout: float = 2.0) -> bool:  # noqa: ASYNC109 - the driver's own time budget
    """Return whether the server at `uri` answers a `ping` command within `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    if not await _accepts_connections(uri, timeout):
        return False
    millis = max(1, round((deadline - loop.time()) * 1000))
    try:
        # Polling monitoring: no extra monitor connection that close() could cut off half-open.
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            uri,
            appname="quetma-probe",
            serverMonitoringMode="poll",
            serverSelectionTimeoutMS=millis,
            connectTimeoutMS=millis,
            timeoutMS=millis,
        )
    except PyMongoError:
        return False
    try:
        await client.admin.command("ping")
    except PyMongoError:
        return False
    finally:
        await client.close()
    return True


async def _accepts_connections(uri: str, timeout: float) -> bool:  # noqa: ASYNC109 - a connect budget
    """Whether some host of a `mongodb://` URI accepts TCP connections; other URIs are not pre-checked.

    A refused port is answered here rather than by the driver, whose monitor retries connecting in
    the background and, when the client closes mid-connect, leaves the socket to the garbage collector.
    """
    if not uri.startswith("mongodb://"):
        return True
    try:
        nodes: list[tuple[str, int]] = parse_uri(uri)["nodelist"]
    except PyMongoError:
        return True  # the client reports the malformed URI
    for host, port in nodes:
        if host.endswith(".sock"):
            return True
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        except (OSError, TimeoutError):
            continue
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True
    return False
