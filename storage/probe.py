"""Reachability check for a MongoDB-compatible server."""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError


async def ping(uri: str, timeout: float = 2.0) -> bool:  # noqa: ASYNC109 - the driver's own budget
    """Return whether the server at `uri` answers a `ping` command within `timeout` seconds."""
    millis = max(1, round(timeout * 1000))
    try:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            uri,
            appname="quetma-probe",
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
