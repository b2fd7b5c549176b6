"""A local HTTP server that answers from a script: the test says what each request gets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Reply:
    status: int = 200
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False  # never answer (until the server stops)


@dataclass
class ScriptedServer:
    url: str
    replies: list[Reply]
    requests: list[web.Request] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def answer(self, *replies: Reply) -> None:
        """From now on, answer these in order (the last one repeats)."""
        self.replies[:] = replies


@asynccontextmanager
async def scripted_server(port: int, *replies: Reply) -> AsyncIterator[ScriptedServer]:
    """Serve ``replies`` in order (the last one repeats) on 127.0.0.1:``port``."""
    server = ScriptedServer(f"http://127.0.0.1:{port}", list(replies))

    async def handle(request: web.Request) -> web.Response:
        server.requests.append(request)
        reply = server.replies.pop(0) if len(server.replies) > 1 else server.replies[0]
        if reply.hang:
            await server.release.wait()
        return web.Response(status=reply.status, text=reply.body, headers=reply.headers)

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


def json_reply(data: Any, status: int = 200, **headers: str) -> Reply:
    import json

    return Reply(status, json.dumps(data), {"Content-Type": "application/json", **headers})


async def drive(clock: Any, awaitable: Any) -> Any:
    """Await ``awaitable`` on a VirtualClock: time jumps whenever it waits on the clock,
    and real I/O (the local server) is awaited as it happens."""
    task = asyncio.ensure_future(awaitable)
    while not task.done():
        deadline = clock.next_deadline()
        if task in clock.sleeping_tasks and deadline is not None:
            await clock.run_until(deadline)
        else:
            await asyncio.wait({task}, timeout=0.05)
    return task.result()
