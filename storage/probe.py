"""Reachability check for a MongoDB-compatible server.

Plain `mongodb://` servers (the embedded one on loopback) are asked over one socket of our
own: a single OP_MSG `ping`, read back under a deadline, and the socket closed on every path.
The driver is not used there because a server killed or stopped mid-check leaves the driver's
pending read holding a socket that only the garbage collector closes. Other URIs (TLS, SRV)
go through the driver.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import struct
from typing import Any

import bson
from pymongo import AsyncMongoClient
from pymongo.errors import ConfigurationError, InvalidURI, PyMongoError
from pymongo.uri_parser import parse_uri

OP_MSG = 2013
_HEADER = struct.Struct("<iiii")  # messageLength, requestID, responseTo, opCode
_MAX_REPLY_BYTES = 1024 * 1024
_request_ids = itertools.count(1)


async def ping(uri: str, timeout: float = 2.0) -> bool:  # noqa: ASYNC109 - a budget for the whole check
    """Return whether the server at `uri` answers a `ping` command within `timeout` seconds."""
    try:
        parsed = parse_uri(uri)
    except (InvalidURI, ConfigurationError, ValueError):
        return False
    options = parsed["options"]
    if not uri.startswith("mongodb://") or options.get("tls") or options.get("ssl"):
        return await _driver_ping(uri, timeout)
    try:
        async with asyncio.timeout(timeout):
            for host, port in parsed["nodelist"]:
                if await _wire_ping(host, port):
                    return True
    except TimeoutError:
        return False
    return False


async def _wire_ping(host: str, port: int) -> bool:
    """Send one `ping` over a fresh connection; True when the reply says ok."""
    try:
        if host.endswith(".sock"):
            reader, writer = await asyncio.open_unix_connection(host)
        else:
            reader, writer = await asyncio.open_connection(host, port)
    except OSError:
        return False
    try:
        writer.write(_op_msg({"ping": 1, "$db": "admin"}))
        await writer.drain()
        length, _, _, opcode = _HEADER.unpack(await reader.readexactly(_HEADER.size))
        if opcode != OP_MSG or not _HEADER.size + 5 < length <= _MAX_REPLY_BYTES:
            return False
        body = await reader.readexactly(length - _HEADER.size)
        # flagBits (4 bytes), section kind 0 (1 byte), then the reply document
        (size,) = struct.unpack_from("<i", body, 5)
        reply = bson.decode(body[5 : 5 + size])
        return body[4] == 0 and reply.get("ok") == 1
    except (OSError, asyncio.IncompleteReadError, struct.error, bson.errors.BSONError):
        return False
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


def _op_msg(command: dict[str, Any]) -> bytes:
    payload = struct.pack("<I", 0) + b"\x00" + bson.encode(command)
    return _HEADER.pack(_HEADER.size + len(payload), next(_request_ids), 0, OP_MSG) + payload


async def _driver_ping(uri: str, timeout: float) -> bool:  # noqa: ASYNC109 - the driver's own time budget
    millis = max(1, round(timeout * 1000))
    try:
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
