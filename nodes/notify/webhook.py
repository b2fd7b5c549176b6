"""A generic webhook: POST the notification as JSON to a URL; any 2xx is success.

Webhook URLs often carry their own secret (Slack's, Discord's, Home
Assistant's), and headers carry keys, so the URL and every header value are
masked in errors, which name the host only.
"""

from __future__ import annotations

from typing import Any, ClassVar

import aiohttp

from flowengine.clock import Clock
from nodes.notify.channel import Channel
from nodes.notify.http import host_of, post
from nodes.notify.notice import Notice


class Webhook(Channel):
    name = "webhook"
    description = "POSTs each notification as JSON to a URL of your own."
    properties: ClassVar[dict[str, Any]] = {
        "url": {
            "type": "string",
            "description": "where to POST, http(s)://... (may be a !secret: many carry a key)",
        },
        "headers": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "extra request headers, e.g. Authorization (values may be !secret)",
        },
    }
    required = ("url",)
    secret_fields = ("url",)

    async def send(self, notice: Notice, http: aiohttp.ClientSession | None, clock: Clock) -> str:
        assert http is not None
        url = self.secret("url") or ""
        if not url.startswith(("http://", "https://")):
            raise self.fail("url must start with http:// or https://")
        headers = {
            str(name): self.reveal(value, f"headers.{name}") for name, value in self._headers()
        }
        body = {
            "event": notice.event,
            "key": notice.key or None,
            "title": notice.title,
            "text": notice.body,
            "level": notice.level,
            "data": notice.data,
            "suppressed": notice.suppressed,
            "at": clock.time(),
        }
        answer = await post(self, http, url, json=body, headers=headers)
        if answer.ok:
            return f"HTTP {answer.status}"
        raise self.fail(f"{host_of(url)} answered HTTP {answer.status}: {answer.excerpt()}")

    def _headers(self) -> list[tuple[str, Any]]:
        return list((self.options.get("headers") or {}).items())

    def more_secrets(self) -> list[Any]:
        return [value for _, value in self._headers()]
