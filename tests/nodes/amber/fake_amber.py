"""Amber's ``/prices/current`` and ``/usage`` on 127.0.0.1, answering what a test says."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

FIXTURES = Path(__file__).parents[2] / "fixtures" / "amber"
API_KEY = "psk_0123456789abcdef0123456789abcdef"
SITE_ID = "01JTESTSITE0000000000000AB"


def payload(name: str) -> list[dict[str, Any]]:
    """A captured Amber response from tests/fixtures/amber (a fresh copy each time)."""
    data: list[dict[str, Any]] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # JSON-able, or str sent as it is
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False  # never answer (until the server stops)
    echo_auth: bool = False  # put the Authorization header in the body, as a careless API might

    def text(self, auth: str) -> str:
        if self.echo_auth:
            return f'{{"message": "not allowed for {auth}"}}'
        return self.body if isinstance(self.body, str) else json.dumps(self.body)


@dataclass
class Request:
    site: str
    query: dict[str, str]
    authorization: str | None


class FakeAmber:
    """Answers with ``reply`` (or ``by_resolution[...]``); queued replies go first."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}/v1"
        self.reply = Reply(body=payload("current_30min"))
        self.by_resolution: dict[str, Reply] = {}
        self.queue: list[Reply] = []
        self.requests: list[Request] = []
        self.usage = Reply(body=payload("usage_20250201"))
        self.usage_requests: list[Request] = []
        self._release = asyncio.Event()
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/v1/sites/{site}/prices/current", self._prices)
        app.router.add_get("/v1/sites/{site}/usage", self._usage)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _usage(self, request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization")
        self.usage_requests.append(Request(request.match_info["site"], dict(request.query), auth))
        if auth != f"Bearer {API_KEY}":
            return web.json_response({"message": "Unauthorized"}, status=401)
        missing = [name for name in ("startDate", "endDate") if name not in request.query]
        if missing:  # both are required by the spec
            return web.json_response({"message": f"missing {missing}"}, status=400)
        return web.Response(status=self.usage.status, text=self.usage.text(auth),
                            content_type="application/json")

    async def _prices(self, request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization")
        self.requests.append(Request(request.match_info["site"], dict(request.query), auth))
        resolution = request.query.get("resolution", "")
        reply = self.queue.pop(0) if self.queue else self.by_resolution.get(resolution, self.reply)
        if auth != f"Bearer {API_KEY}" and not reply.echo_auth:
            return web.json_response({"message": "Unauthorized"}, status=401)
        if reply.hang:
            await self._release.wait()
        return web.Response(
            status=reply.status,
            text=reply.text(auth or ""),
            headers=reply.headers,
            content_type="application/json",
        )
