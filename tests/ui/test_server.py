"""ui.server: slow clients on real sockets (issue 16, failure 5). Half-open requests
are closed after the header timeout, a stalled body after the body timeout, and past
the connection limit a normal request is still served, or answered 503, and the
connections beyond take each other's places instead of using up the process's files."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from ui.server import ServerLimits, WebServer

TIMEOUT = 0.2  # the header and body timeouts where a test waits for one
#: How long a test lets the server take to close what it should; never waited in full.
PATIENCE = 5.0
HALF_OPEN = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"  # the blank line never comes


def app(release: asyncio.Event) -> Starlette:
    async def index(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def echo(request: Request) -> Response:
        return PlainTextResponse(str(len(await request.body())))

    async def stream(request: Request) -> Response:
        async def parts() -> AsyncIterator[bytes]:
            yield b"first\n"
            await release.wait()
            yield b"second\n"

        return StreamingResponse(parts())

    return Starlette(
        routes=[Route("/", index), Route("/echo", echo, methods=["POST"]), Route("/stream", stream)]
    )


Socket = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class Client:
    def __init__(self, web: WebServer) -> None:
        self.web = web
        self.port = web.server.config.port
        self.opened: list[Socket] = []

    async def open(self, data: bytes = b"") -> Socket:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        if data:
            writer.write(data)
            await writer.drain()
        self.opened.append((reader, writer))
        return reader, writer

    async def settle(self) -> None:
        """Let the server see every connection made so far (accept, read, evict)."""
        for _ in range(50):
            await asyncio.sleep(0)

    def close(self) -> None:
        for _, writer in self.opened:
            writer.close()


@pytest.fixture
def release() -> asyncio.Event:
    return asyncio.Event()


async def serve(port: int, limits: ServerLimits, release: asyncio.Event) -> WebServer:
    web = WebServer(app(release), "127.0.0.1", port, limits)
    await web.start()
    return web


@asynccontextmanager
async def client_of(
    port: int, limits: ServerLimits, release: asyncio.Event
) -> AsyncIterator[Client]:
    web = await serve(port, limits, release)
    client = Client(web)
    try:
        yield client
    finally:
        release.set()
        client.close()
        await web.stop()


@pytest.fixture
async def quick(free_port: int, release: asyncio.Event) -> AsyncIterator[Client]:
    """A server whose header and body timeouts are ``TIMEOUT``."""
    limits = ServerLimits(header_timeout=TIMEOUT, body_timeout=TIMEOUT, max_connections=50)
    async with client_of(free_port, limits, release) as client:
        yield client


@pytest.fixture
async def small(free_port: int, release: asyncio.Event) -> AsyncIterator[Client]:
    """A server for four connections, with timeouts no test waits for."""
    limits = ServerLimits(header_timeout=60, body_timeout=60, max_connections=4)
    async with client_of(free_port, limits, release) as client:
        yield client


async def closed_within(reader: asyncio.StreamReader, seconds: float = PATIENCE) -> bytes:
    """Everything the server sent before it closed the connection."""
    async with asyncio.timeout(seconds):
        return await reader.read()


async def test_half_open_headers_are_closed_after_the_header_timeout(quick: Client) -> None:
    started = time.perf_counter()
    reader, _ = await quick.open(HALF_OPEN)
    silent, _ = await quick.open()
    assert await closed_within(reader) == b""
    assert await closed_within(silent) == b""
    assert TIMEOUT * 0.9 <= time.perf_counter() - started < PATIENCE
    await quick.settle()
    assert quick.web.connections == 0


async def test_a_stalled_body_is_closed_after_the_body_timeout(quick: Client) -> None:
    head = b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n"
    reader, _ = await quick.open(head + b"x" * 10)
    assert await closed_within(reader) == b""


async def test_a_request_read_in_time_may_take_as_long_as_it_needs(
    quick: Client, release: asyncio.Event
) -> None:
    """The timeouts are for reading a request: a response streams on past them (the
    event stream runs for hours), and a request that comes in pieces in time is served."""
    reader, writer = await quick.open(b"GET /stream HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    writer.write(b"\r\n")
    async with asyncio.timeout(PATIENCE):
        assert (await reader.readline()).startswith(b"HTTP/1.1 200")
        await reader.readuntil(b"first\n")
    await asyncio.sleep(TIMEOUT * 2)  # past both timeouts, the response still going
    release.set()
    async with asyncio.timeout(PATIENCE):
        await reader.readuntil(b"second\n")


async def test_past_the_limit_a_new_request_takes_a_half_open_ones_place(small: Client) -> None:
    """Failure 5: 1,100 half-open requests made the UI unreachable."""
    waiting = [(await small.open(HALF_OPEN))[0] for _ in range(12)]
    await small.settle()
    assert small.web.connections <= 4
    async with aiohttp.ClientSession() as http, http.get(small.web.url) as response:
        assert response.status == 200 and await response.text() == "ok"
    closed = 0
    for reader in waiting:
        try:
            closed += await closed_within(reader, 0.05) == b""
        except TimeoutError:
            pass
    assert closed >= 9  # the oldest first: the newest three may still be waiting


async def test_with_every_connection_busy_a_new_one_gets_503_and_files_stay_bounded(
    small: Client,
) -> None:
    head = b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n"
    busy = [await small.open(head + b"x") for _ in range(4)]  # bodies still coming
    await small.settle()
    refused, _ = await small.open(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    answer = await closed_within(refused)
    assert answer.startswith(b"HTTP/1.1 503") and b"connection: close" in answer.lower()
    beyond = [(await small.open())[0] for _ in range(30)]
    await small.settle()
    for reader in beyond[:-1]:  # each took the place of the one before: closed at once
        assert await closed_within(reader) == b""
    assert small.web.connections <= 5
    for reader, writer in busy:  # the requests in progress are still served
        writer.write(b"x" * 999)
        await writer.drain()
        async with asyncio.timeout(PATIENCE):
            assert (await reader.readline()).startswith(b"HTTP/1.1 200")
