"""ntfy: POST the text to ``<server>/<topic>``, with Title, Priority and Tags headers.

Header values that are not ASCII (an em dash in a title, an emoji tag) are
sent RFC 2047-encoded, which ntfy decodes; raw UTF-8 in a header arrives as
question marks on some clients. Bodies over 4096 bytes would become an
attachment, so the text is cut to that.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import Any, ClassVar

import aiohttp

from flowengine.clock import Clock
from nodes.notify.channel import Channel, ChannelConfigError, clip_bytes
from nodes.notify.http import post
from nodes.notify.notice import LEVELS, Notice

DEFAULT_SERVER = "https://ntfy.sh"
DEFAULT_PRIORITIES = {"info": 3, "warning": 4, "critical": 5}
#: An emoji tag per level (ntfy shows these shortcodes as emoji before the title).
LEVEL_TAGS = {"warning": "warning", "critical": "rotating_light"}
MAX_BODY_BYTES = 4096
TOPIC = re.compile(r"[-_A-Za-z0-9]{1,64}")


def header_value(text: str) -> str:
    """``text`` as it may go in an HTTP header: itself if ASCII, else RFC 2047 base64."""
    if text.isascii():
        return text
    return "=?UTF-8?B?" + base64.b64encode(text.encode("utf-8")).decode("ascii") + "?="


class Ntfy(Channel):
    name = "ntfy"
    description = "Sends each notification to an ntfy topic (ntfy.sh or your own server)."
    properties: ClassVar[dict[str, Any]] = {
        "server": {
            "type": "string",
            "pattern": "^https?://",
            "description": f"the ntfy server ({DEFAULT_SERVER})",
        },
        "topic": {
            "type": "string",
            "description": "the topic to publish to: letters, digits, - and _ (on ntfy.sh anyone "
            "who knows it can read it: pick one hard to guess, keep it a !secret, or use a token)",
        },
        "token": {"type": "string", "description": "access token (tk_...), sent as Bearer"},
        "username": {"type": "string", "description": "for basic auth (instead of a token)"},
        "password": {"type": "string", "description": "for basic auth (use !secret)"},
        "priorities": {
            "type": "object",
            "description": "ntfy priority (1-5) per level (info 3, warning 4, critical 5)",
            "properties": {
                level: {"type": "integer", "minimum": 1, "maximum": 5} for level in LEVELS
            },
            "additionalProperties": False,
        },
        "tags": {
            "type": "array",
            "items": {"type": "string", "pattern": "^[^,]+$"},
            "description": "tags (or emoji shortcodes) added to every message",
        },
    }
    required = ("topic",)
    secret_fields = ("token", "password", "topic")

    def __init__(self, options: Mapping[str, Any], where: str) -> None:
        super().__init__(options, where)
        if bool(self.options.get("username")) != bool(self.options.get("password")):
            raise ChannelConfigError(f"{where}: username and password go together")

    async def send(self, notice: Notice, http: aiohttp.ClientSession | None, clock: Clock) -> str:
        assert http is not None
        server = str(self.options.get("server") or DEFAULT_SERVER).rstrip("/")
        priorities = {**DEFAULT_PRIORITIES, **(self.options.get("priorities") or {})}
        tags = [str(tag) for tag in self.options.get("tags") or []]
        if notice.level in LEVEL_TAGS:
            tags.insert(0, LEVEL_TAGS[notice.level])
        headers = {
            "Title": header_value(notice.title),
            "Priority": str(priorities[notice.level]),
            "Content-Type": "text/plain; charset=utf-8",
        }
        if tags:
            headers["Tags"] = header_value(",".join(tags))
        token = self.secret("token")
        if token:
            headers["Authorization"] = f"Bearer {token}"
        elif self.options.get("username"):
            pair = f"{self.options['username']}:{self.secret('password') or ''}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
        body = clip_bytes(notice.body, MAX_BODY_BYTES).encode("utf-8")
        topic = self.secret("topic") or ""
        if not TOPIC.fullmatch(topic):
            raise self.fail("topic must be 1-64 letters, digits, - or _")
        url = f"{server}/{topic}"
        answer = await post(self, http, url, data=body, headers=headers)
        reply = answer.json()
        if answer.ok:
            message_id = reply.get("id") if isinstance(reply, dict) else None
            return f"ntfy message {message_id}" if message_id else f"HTTP {answer.status}"
        if isinstance(reply, dict) and reply.get("error"):
            code = f" (ntfy code {reply['code']})" if reply.get("code") else ""
            raise self.fail(f"HTTP {answer.status}: {reply['error']}{code}")
        raise self.fail(f"HTTP {answer.status}: {answer.excerpt()}")
