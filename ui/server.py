"""Serving the app with uvicorn inside an already running event loop.

uvicorn keeps a connection open for as long as a client takes to send its request:
a few hundred half-open connections would use up the process's files. So each
connection is served by ``GuardedProtocol`` (uvicorn's HTTP/1.1 protocol) under
``ServerLimits``: the headers must arrive within ``header_timeout`` of the connection
opening (or of the previous response), a body within ``body_timeout`` of its
headers, and at most ``max_connections`` are served at once. A connection past that
takes the place of the one that has waited longest for a request; when none is
waiting (every one is busy with a request), it is answered 503, and waits to be
closed in its turn. So however many clients connect, about ``max_connections`` files
are open. Once a request is read the app has all the time it needs (the event
stream runs for hours).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from types import TracebackType
from typing import Any, ClassVar

import h11
import uvicorn
from starlette.applications import Starlette
from uvicorn.protocols.http.h11_impl import H11Protocol

START_TIMEOUT_S = 10.0
#: The request line and headers together (h11's own default, said here).
MAX_HEADER_BYTES = 16 * 1024

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerLimits:
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    keep_alive: int = 5  # seconds an idle connection stays open after a response
    max_connections: int = 100


class GuardedProtocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with a deadline for reading each request and a cap
    on connections (``protocol_for`` sets ``limits``)."""

    limits: ClassVar[ServerLimits] = ServerLimits()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._waiting_for = ""  # "headers", "body" or "" (the app's turn)
        self._waiting_since = self.loop.time()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        most = self.limits.max_connections
        others = [c for c in self.connections if c is not self and _open(c)]
        if len(others) >= most and not _evict_longest_waiting(others):
            self.limit_concurrency = 0  # uvicorn answers its request 503 and closes
        self._watch()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch()

    @property
    def idle(self) -> bool:
        """Waiting for a request (or for the rest of a body no one will read)."""
        return self.cycle is None or self.cycle.response_complete

    def _watch(self) -> None:
        """Arm the deadline for what the connection waits for now, keeping one already
        running for the same thing."""
        if self.transport.is_closing():
            self._disarm()
            return
        state = self.conn.their_state
        if state is h11.IDLE:
            self._arm("headers", self.limits.header_timeout)
        elif state is h11.SEND_BODY:
            self._arm("body", self.limits.body_timeout)
        else:
            self._disarm()

    def _arm(self, waiting_for: str, seconds: float) -> None:
        if self._waiting_for == waiting_for and self._deadline is not None:
            return
        self._disarm()
        self._waiting_for = waiting_for
        self._waiting_since = self.loop.time()
        self._deadline = self.loop.call_later(seconds, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline = None
        self._waiting_for = ""

    def _expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self._waiting_for == "body" and self.flow.read_paused and not self.idle:
            # The app has not read what came: the wait is not the client's.
            self._waiting_for = ""
            self._arm("body", self.limits.body_timeout)
            return
        log.debug("closed a connection from %s: no %s in time", self.client, self._waiting_for)
        self.transport.close()


def _open(protocol: Any) -> bool:
    transport = getattr(protocol, "transport", None)
    return transport is not None and not transport.is_closing()


def _evict_longest_waiting(connections: list[Any]) -> bool:
    """Close the connection that has waited longest for a request; False if none waits."""
    waiting = [c for c in connections if isinstance(c, GuardedProtocol) and c.idle]
    if not waiting:
        return False
    oldest = min(waiting, key=lambda c: c._waiting_since)
    oldest.transport.close()
    return True


def protocol_for(limits: ServerLimits) -> type[GuardedProtocol]:
    """``GuardedProtocol`` under ``limits`` (uvicorn makes one per connection from a class)."""

    class Limited(GuardedProtocol):
        pass

    Limited.limits = limits
    return Limited


class WebServer:
    """uvicorn on ``host:port`` as a task of this loop: ``start``/``stop`` or ``async with``."""

    def __init__(
        self, app: Starlette, host: str, port: int, limits: ServerLimits | None = None
    ) -> None:
        self.limits = limits or ServerLimits()
        # proxy_headers off: a client's X-Forwarded-For must not pick its own address
        # (the sign-in lockout counts failures by address).
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            proxy_headers=False,
            http=protocol_for(self.limits),
            timeout_keep_alive=self.limits.keep_alive,
            h11_max_incomplete_event_size=MAX_HEADER_BYTES,
            lifespan="off",
            ws="none",
            timeout_graceful_shutdown=2,
        )
        self.server = uvicorn.Server(config)
        self.url = f"http://{host}:{port}"
        self._task: asyncio.Task[None] | None = None

    @property
    def connections(self) -> int:
        """Connections open now (closing ones not counted)."""
        return sum(1 for c in self.server.server_state.connections if _open(c))

    async def start(self) -> None:
        """Return once uvicorn listens; raise what stopped it if it could not start."""
        self._task = asyncio.create_task(self.server.serve(), name="web")
        async with asyncio.timeout(START_TIMEOUT_S):
            while not self.server.started:
                if self._task.done():
                    self._task.result()
                    raise RuntimeError("the web server stopped before it started")
                await asyncio.sleep(0.005)

    async def stop(self) -> None:
        if self._task is not None:
            self.server.should_exit = True
            await self._task
            self._task = None

    async def __aenter__(self) -> WebServer:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
