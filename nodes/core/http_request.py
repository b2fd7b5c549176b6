"""``core.http_request``: call a web service from a flow (Node-RED's http request node).

The URL, headers and body may hold ``{{ }}``; the answer comes back as the payload
(JSON as data, else text) with ``meta.status``. Requests go through a ``core.http``
connection (one pool, its timeout), only to http(s) URLs, and a body is cut off at
``max_bytes`` so a wrong URL cannot fill the Pi's memory."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

import aiohttp

from flowengine.expressions import Template, is_template, plain, scope_for
from flowengine.message import Message
from flowengine.node import Node, NodeContext
from flowengine.schema import TEMPLATE_TEXT

DEFAULT_MAX_BYTES = 1_000_000
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


class HttpRequest(Node):
    type_name = "core.http_request"
    description = "Calls a URL (GET, POST...) and gives the answer as the payload."
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "http": {
                "type": "string",
                "x-connection": "core.http",
                "description": "the core.http connection (its timeout and pool)",
            },
            "url": {**TEMPLATE_TEXT, "description": "http(s) URL; {{ }} allowed"},
            "method": {"enum": list(METHODS), "default": "GET"},
            "headers": {"type": "object", "additionalProperties": TEMPLATE_TEXT},
            "body": {
                "description": "JSON data sent (default: the payload for POST/PUT/"
                "PATCH; text may hold {{ }})",
                "x-template": True,
            },
            "max_bytes": {
                "type": "integer",
                "minimum": 1,
                "default": DEFAULT_MAX_BYTES,
                "description": "longest answer read",
            },
        },
        "required": ["http", "url"],
        "additionalProperties": False,
    }
    takes = "any message (its payload is the body of a POST, PUT or PATCH)"
    gives: ClassVar[dict[str, str]] = {
        "out": "payload = the answer (JSON as data, else text); meta.status = the HTTP "
        "status. A status of 400 or more fails the run (error port)"
    }

    @classmethod
    def check_config(cls, config: Mapping[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
        url = config["url"]
        if not is_template(url) and urlsplit(url).scheme not in ("http", "https"):
            return [(("url",), f"'{url}' is not an http(s) URL")]
        return []

    def __init__(self, ctx: NodeContext, config: dict[str, Any]) -> None:
        super().__init__(ctx, config)
        self._url = Template(config["url"])
        self._headers = {k: Template(v) for k, v in (config.get("headers") or {}).items()}
        body = config.get("body")
        self._body = Template(str(body)) if is_template(body) else body
        self._method = self.config["method"]
        self._max = int(self.config["max_bytes"])

    async def process(self, msg: Message) -> Message:
        scope = scope_for(self.ctx, msg)
        url = str(self._url.render(scope))
        if urlsplit(url).scheme not in ("http", "https"):
            raise ValueError(f"'{url}' is not an http(s) URL")
        headers = {k: str(t.render(scope)) for k, t in self._headers.items()}
        body: Any = None
        if self._method in ("POST", "PUT", "PATCH"):
            if "body" not in self.config:
                body = msg.payload
            else:
                body = self._body.render(scope) if isinstance(self._body, Template) else self._body
        session = self._session()
        data = None if body is None else json.dumps(plain(body)).encode()
        if data is not None and not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = "application/json"
        async with session.request(self._method, url, data=data, headers=headers) as response:
            raw = b""
            while len(raw) <= self._max:  # read() gives a chunk at a time, not the whole
                chunk = await response.content.read(self._max + 1 - len(raw))
                if not chunk:
                    break
                raw += chunk
            if len(raw) > self._max:
                raise ValueError(f"{url}: the answer is longer than {self._max:,} bytes")
            text = raw.decode(response.charset or "utf-8", errors="replace")
            if response.status >= 400:
                raise ValueError(f"{self._method} {url}: HTTP {response.status}: {text[:200]}")
            msg.meta["status"] = response.status
        try:
            msg.payload = json.loads(text) if text.strip() else None
        except ValueError:
            msg.payload = text
        self.ctx.status(f"{self._method} {response.status}")
        return msg

    def _session(self) -> aiohttp.ClientSession:
        name = self.config["http"]
        session = getattr(self.ctx.connection(name), "session", None)
        if not isinstance(session, aiohttp.ClientSession) or session.closed:
            raise RuntimeError(f"connection '{name}' is not an open core.http session")
        return session
