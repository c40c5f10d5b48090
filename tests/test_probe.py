"""The reachability probe: yes only for a server that answers `ping`, no for everything else, in time."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from storage.probe import ping

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest.fixture
async def fake_server() -> AsyncIterator[Callable[[Handler], Awaitable[str]]]:
    """Start loopback servers running a given connection handler; yields a factory of their URIs."""
    servers: list[asyncio.Server] = []

    async def start(handler: Handler) -> str:
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        servers.append(server)
        port = server.sockets[0].getsockname()[1]
        return f"mongodb://127.0.0.1:{port}/"

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_running_server_answers(mongo_uri: str) -> None:
    assert await ping(mongo_uri)


async def test_a_closed_port_does_not_answer() -> None:
    assert not await ping(f"mongodb://127.0.0.1:{closed_port()}/", timeout=1.0)


async def test_a_server_that_accepts_but_stays_silent_fails_within_the_timeout(
    fake_server: Callable[[Handler], Awaitable[str]],
) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the probe gives up and closes
        writer.close()

    uri = await fake_server(silent)
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert not await ping(uri, timeout=0.3)
    assert loop.time() - started < 2.0


@pytest.mark.parametrize(
    "reply",
    [
        b"HTTP/1.1 400 Bad Request\r\n\r\n",  # another protocol on the port
        struct.pack("<iiii", 10**9, 1, 1, 2013),  # an absurd length
        struct.pack("<iiii", 21, 1, 1, 2013) + b"\x00\x00\x00\x00\x00",  # a truncated body
    ],
    ids=["http", "huge-length", "truncated"],
)
async def test_garbage_replies_are_no(fake_server: Callable[[Handler], Awaitable[str]], reply: bytes) -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)
        writer.write(reply)
        await writer.drain()
        writer.close()

    assert not await ping(await fake_server(garbage), timeout=1.0)


async def test_a_malformed_uri_is_no() -> None:
    assert not await ping("mongodb://[not-a-host", timeout=0.5)
