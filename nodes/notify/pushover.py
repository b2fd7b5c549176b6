"""Pushover: POST the form fields token, user, message, title and priority to messages.json.

Pushover answers ``{"status": 1, "request": ...}`` when it took the message and
``{"status": 0, "errors": [...]}`` (HTTP 4xx) when it did not; the errors are
what the error says. Emergency priority (2) needs retry/expire handling and an
acknowledgement, so levels map to -2..1 only.
"""

from __future__ import annotations

from typing import Any, ClassVar

import aiohttp

from flowengine.clock import Clock
from nodes.notify.channel import Channel, clip
from nodes.notify.http import post
from nodes.notify.notice import LEVELS, Notice

DEFAULT_BASE_URL = "https://api.pushover.net"
DEFAULT_PRIORITIES = {"info": -1, "warning": 0, "critical": 1}
MAX_MESSAGE = 1024
MAX_TITLE = 250


class Pushover(Channel):
    name = "pushover"
    description = "Sends each notification through Pushover to a user or group."
    properties: ClassVar[dict[str, Any]] = {
        "token": {"type": "string", "description": "the application's API token (!secret)"},
        "user": {"type": "string", "description": "the user or group key (!secret)"},
        "device": {"type": "string", "description": "only this device (default: all)"},
        "priorities": {
            "type": "object",
            "description": "Pushover priority per level (info -1 quiet, warning 0, "
            "critical 1 high: bypasses quiet hours)",
            "properties": {
                level: {"type": "integer", "minimum": -2, "maximum": 1} for level in LEVELS
            },
            "additionalProperties": False,
        },
        "base_url": {
            "type": "string",
            "pattern": "^https?://",
            "description": f"the API's address ({DEFAULT_BASE_URL})",
        },
    }
    required = ("token", "user")
    secret_fields = ("token", "user")

    async def send(self, notice: Notice, http: aiohttp.ClientSession | None, clock: Clock) -> str:
        assert http is not None
        base = str(self.options.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
        priorities = {**DEFAULT_PRIORITIES, **(self.options.get("priorities") or {})}
        form = {
            "token": self.secret("token") or "",
            "user": self.secret("user") or "",
            "message": clip(notice.body, MAX_MESSAGE),
            "title": clip(notice.title, MAX_TITLE),
            "priority": str(priorities[notice.level]),
        }
        if self.options.get("device"):
            form["device"] = str(self.options["device"])
        answer = await post(self, http, f"{base}/1/messages.json", data=form)
        reply = answer.json()
        if not isinstance(reply, dict):
            raise self.fail(f"HTTP {answer.status}, not a Pushover answer: {answer.excerpt()}")
        if answer.ok and reply.get("status") == 1:
            return f"pushover request {reply.get('request')}"
        errors = reply.get("errors")
        reason = "; ".join(map(str, errors)) if isinstance(errors, list) and errors else ""
        raise self.fail(
            f"HTTP {answer.status}, status {reply.get('status')}: {reason or answer.excerpt()}"
        )
