"""ntfy, Pushover, Telegram's Bot API and a webhook receiver on one local port.

Each checks a request as the real service does and answers with the real
service's success and error bodies; every request is recorded as it arrived
(method, path, headers, body) for the tests to check exactly.
"""

from __future__ import annotations

import base64
import itertools
import json
import uuid
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from typing import Any

from aiohttp import web

NTFY_TOKEN = "tk_AgQdq7mVBoFD37zQVN29RhuMzNIz2"
PUSHOVER_TOKEN = "azGDORePK8gMaC0QOYAMyEEuzJnyUi"
PUSHOVER_USER = "uQiRzpo4DXghDmr9QzzfQu27cmVRsG"
TELEGRAM_TOKEN = "7142336090:AAHk3bJcYqXf0Zq1m-8cVn2Wq5XK3zDT1pE"
TELEGRAM_CHAT = 515151515


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeServices:
    port: int
    #: ntfy: what the topic asks of a publisher: None (open), "token" or "basic".
    ntfy_access: str | None = "token"
    ntfy_basic: tuple[str, str] = ("powermaster", "s3cret-pass")
    webhook_status: int = 204
    webhook_body: str = ""
    received: list[Received] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(101))

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/ntfy/{topic}", self._ntfy)
        app.router.add_route("*", "/pushover/1/messages.json", self._pushover)
        app.router.add_route("*", "/telegram/bot{token}/sendMessage", self._telegram)
        app.router.add_route("*", "/hook", self._webhook)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _record(self, request: web.Request) -> Received:
        got = Received(request.method, request.path, dict(request.headers), await request.read())
        self.received.append(got)
        return got

    # -- ntfy (server/errors.go for the error bodies) -------------------------------------

    async def _ntfy(self, request: web.Request) -> web.Response:
        got = await self._record(request)
        if request.method not in ("POST", "PUT"):
            return _ntfy_error(40401, 404, "page not found")
        auth = request.headers.get("Authorization")
        if self.ntfy_access is not None:
            user, password = self.ntfy_basic
            basic = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
            want = f"Bearer {NTFY_TOKEN}" if self.ntfy_access == "token" else basic
            if auth is None:  # anonymous on a protected topic
                return _ntfy_error(40301, 403, "forbidden")
            if auth != want:
                return _ntfy_error(40101, 401, "unauthorized")
        priority = request.headers.get("Priority", "3")
        if priority not in ("1", "2", "3", "4", "5"):
            return _ntfy_error(40007, 400, "invalid priority parameter")
        try:
            message = got.body.decode("utf-8")
        except UnicodeDecodeError:
            return _ntfy_error(40011, 400, "invalid message: message must be UTF-8 encoded")
        reply: dict[str, Any] = {
            "id": f"sPs71M8A{next(self._ids)}",
            "time": 1700000000,
            "expires": 1700043200,
            "event": "message",
            "topic": request.match_info["topic"],
            "message": message,
            "priority": int(priority),
        }
        if "Title" in request.headers:
            reply["title"] = str(make_header(decode_header(request.headers["Title"])))
        if "Tags" in request.headers:
            reply["tags"] = str(make_header(decode_header(request.headers["Tags"]))).split(",")
        return web.Response(text=json.dumps(reply) + "\n", content_type="application/json")

    # -- Pushover ---------------------------------------------------------------------

    async def _pushover(self, request: web.Request) -> web.Response:
        await self._record(request)
        request_id = str(uuid.uuid4())
        if request.method != "POST":
            return web.json_response({"errors": ["not found"], "status": 0}, status=404)
        form = await request.post()
        problems: dict[str, Any] = {}
        if form.get("token") != PUSHOVER_TOKEN:
            problems = {"token": "invalid", "errors": ["application token is invalid"]}
        elif form.get("user") != PUSHOVER_USER:
            problems = {"user": "invalid", "errors": ["user identifier is invalid"]}
        elif not form.get("message"):
            problems = {"message": "cannot be blank", "errors": ["message cannot be blank"]}
        if problems:
            return web.json_response({**problems, "status": 0, "request": request_id}, status=400)
        return web.json_response({"status": 1, "request": request_id})

    # -- Telegram Bot API -------------------------------------------------------------

    async def _telegram(self, request: web.Request) -> web.Response:
        got = await self._record(request)
        if request.match_info["token"] != TELEGRAM_TOKEN:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        body = got.json()
        if body.get("chat_id") != TELEGRAM_CHAT:
            return web.json_response(
                {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"},
                status=400,
            )
        if not body.get("text"):
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 400,
                    "description": "Bad Request: message text is empty",
                },
                status=400,
            )
        result = {
            "message_id": next(self._ids),
            "from": {
                "id": 7142336090,
                "is_bot": True,
                "first_name": "Power Master",
                "username": "power_master_bot",
            },
            "chat": {"id": TELEGRAM_CHAT, "first_name": "Sam", "type": "private"},
            "date": 1700000000,
            "text": body["text"],
        }
        return web.json_response({"ok": True, "result": result})

    # -- a webhook receiver -----------------------------------------------------------

    async def _webhook(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.Response(status=self.webhook_status, text=self.webhook_body)


def _ntfy_error(code: int, status: int, error: str) -> web.Response:
    body = {
        "code": code,
        "http": status,
        "error": error,
        "link": "https://ntfy.sh/docs/publish/#authentication",
    }
    return web.Response(
        status=status, text=json.dumps(body) + "\n", content_type="application/json"
    )
