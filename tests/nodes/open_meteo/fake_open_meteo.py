"""Open-Meteo's ``/v1/forecast`` on 127.0.0.1, answering whatever a test scripts."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

FIXTURES = Path(__file__).parents[2] / "fixtures" / "open_meteo"


def payload(name: str) -> dict[str, Any]:
    """A response from tests/fixtures/open_meteo (a fresh copy each time)."""
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # JSON-able, or str sent as it is
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False  # never answer (until the server stops)

    def text(self) -> str:
        return self.body if isinstance(self.body, str) else json.dumps(self.body)


@dataclass
class FakeOpenMeteo:
    url: str
    replies: list[Reply]
    queries: list[dict[str, str]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def answer(self, *replies: Reply) -> None:
        """From now on answer these in order (the last one repeats)."""
        self.replies[:] = replies


@asynccontextmanager
async def fake_open_meteo(port: int, *replies: Reply) -> AsyncIterator[FakeOpenMeteo]:
    server = FakeOpenMeteo(f"http://127.0.0.1:{port}", list(replies))

    async def handle(request: web.Request) -> web.Response:
        server.paths.append(request.path)
        server.queries.append(dict(request.query))
        reply = server.replies.pop(0) if len(server.replies) > 1 else server.replies[0]
        if reply.hang:
            await server.release.wait()
        return web.Response(
            status=reply.status,
            text=reply.text(),
            headers=reply.headers,
            content_type="application/json",
        )

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield server
    finally:
        server.release.set()
        await runner.cleanup()
