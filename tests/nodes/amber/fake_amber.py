"""Amber's ``/prices/current`` and ``/usage`` on 127.0.0.1, answering what a test says.

``/usage`` keeps Amber's rules as sites billed every 5 minutes meet them: a
``resolution`` other than the site's refused with 400 (the spec knows only 30),
an ``endDate`` of today or later (NEM time) refused with 400, more than 7 days
at once a 500 on a 5-minute site, more than 90 days a 400 anywhere. It answers
the intervals of its ``usage`` payload whose NEM ``date`` is in the window.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from aiohttp import web

from flowengine import VirtualClock

FIXTURES = Path(__file__).parents[2] / "fixtures" / "amber"
API_KEY = "psk_0123456789abcdef0123456789abcdef"
SITE_ID = "01JTESTSITE0000000000000AB"
NEM_TIME = timezone(timedelta(hours=10))
#: What Amber's gateway answers past the quota: the IETF draft headers, as amber-express reads
#: them (RateLimit-Reset in seconds from now).
RATE_LIMITED = {
    "RateLimit-Limit": "50",
    "RateLimit-Remaining": "0",
    "RateLimit-Reset": "187",
    "RateLimit-Policy": "50;w=300",
}


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
    at: float = 0.0  # the engine's (virtual) time when it arrived


class FakeAmber:
    """Answers with ``reply`` (or ``by_resolution[...]``); queued replies go first."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}/v1"
        self.clock: VirtualClock | None = None
        self.reply = Reply(body=payload("current_30min"))
        self.by_resolution: dict[str, Reply] = {}
        self.queue: list[Reply] = []
        self.requests: list[Request] = []
        #: The site's metering interval (minutes), which ``/usage`` answers at.
        self.interval_length = 30
        self.usage = Reply(body=payload("usage_20250201"))
        self.usage_queue: list[Reply] = []  # answered first, whatever the request
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

    def now(self) -> float:
        return self.clock.time() if self.clock is not None else 0.0

    def _record(self, request: web.Request, into: list[Request]) -> str | None:
        auth = request.headers.get("Authorization")
        into.append(Request(request.match_info["site"], dict(request.query), auth, self.now()))
        return auth

    async def _usage(self, request: web.Request) -> web.Response:
        auth = self._record(request, self.usage_requests)
        if auth != f"Bearer {API_KEY}":
            return web.json_response({"message": "Unauthorized"}, status=401)
        if self.usage_queue:
            return _answer(self.usage_queue.pop(0), auth)
        refusal = self._usage_refusal(request.query)
        if refusal is not None:
            status, message = refusal
            return web.json_response({"message": message}, status=status)
        first = date.fromisoformat(request.query["startDate"])
        last = date.fromisoformat(request.query["endDate"])
        body = self.usage.body
        if isinstance(body, list):
            body = [i for i in body if first <= date.fromisoformat(i["date"]) <= last]
        return _answer(Reply(self.usage.status, body, self.usage.headers), auth)

    def _usage_refusal(self, query: Any) -> tuple[int, str] | None:
        missing = [name for name in ("startDate", "endDate") if name not in query]
        if missing:  # both are required by the spec
            return 400, f"missing {missing}"
        if query.get("resolution", str(self.interval_length)) != str(self.interval_length):
            return 400, f"resolution {query['resolution']} is not this site's"
        first, last = date.fromisoformat(query["startDate"]), date.fromisoformat(query["endDate"])
        today = datetime.fromtimestamp(self.now(), NEM_TIME).date()
        days = (last - first).days + 1
        if last >= today:
            return 400, "endDate must be before today"
        if days < 1 or days > 90:
            return 400, "the window must be 1 to 90 days"
        if self.interval_length == 5 and days > 7:
            return 500, "Internal Server Error"
        return None

    async def _prices(self, request: web.Request) -> web.Response:
        auth = self._record(request, self.requests)
        resolution = request.query.get("resolution", "")
        reply = self.queue.pop(0) if self.queue else self.by_resolution.get(resolution, self.reply)
        if auth != f"Bearer {API_KEY}" and not reply.echo_auth:
            return web.json_response({"message": "Unauthorized"}, status=401)
        if reply.hang:
            await self._release.wait()
        return _answer(reply, auth)


def _answer(reply: Reply, auth: str | None) -> web.Response:
    return web.Response(
        status=reply.status,
        text=reply.text(auth or ""),
        headers=reply.headers,
        content_type="application/json",
    )
