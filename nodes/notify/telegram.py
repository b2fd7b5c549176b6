"""Telegram: POST ``{chat_id, text}`` to ``bot<token>/sendMessage``; the answer says ``ok``.

The bot token is part of the URL, which is why every error is masked before it
is raised: an HTTP library's message names the URL it failed on. With a
``parse_mode`` the title is bold and the text is escaped as that mode needs, so
a ``_`` or ``<`` in a reason cannot make Telegram refuse the message.
"""

from __future__ import annotations

import html
import re
from typing import Any, ClassVar

import aiohttp

from flowengine.clock import Clock
from nodes.notify.channel import Channel
from nodes.notify.http import post
from nodes.notify.notice import Notice

DEFAULT_BASE_URL = "https://api.telegram.org"
MAX_TEXT = 4096
_MARKDOWN_SPECIAL = re.compile(r"([_*\[\]()~`>#+\-=|{}.!\\])")


def markdown_v2(text: str) -> str:
    """``text`` escaped for Telegram's MarkdownV2."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def render(title: str, body: str, parse_mode: str | None) -> str:
    if parse_mode == "HTML":
        return f"<b>{html.escape(title, quote=False)}</b>\n{html.escape(body, quote=False)}"
    if parse_mode == "MarkdownV2":
        return f"*{markdown_v2(title)}*\n{markdown_v2(body)}"
    return f"{title}\n{body}"


def fitted(title: str, body: str, parse_mode: str | None) -> str:
    """The message, the body shortened (before escaping) until it fits Telegram's limit."""
    text = render(title, body, parse_mode)
    while len(text) > MAX_TEXT and body:  # escaping grows the text: shrink in proportion
        body = body[: int(len(body) * MAX_TEXT / len(text)) - 1]
        text = render(title, body + "…", parse_mode)
    return text[:MAX_TEXT]


class Telegram(Channel):
    name = "telegram"
    description = "Sends each notification as a Telegram message from your bot."
    properties: ClassVar[dict[str, Any]] = {
        "token": {"type": "string", "description": "the bot token from @BotFather (!secret)"},
        "chat_id": {
            "type": ["string", "integer"],
            "description": "the chat to write to (a number, or @channelname)",
        },
        "parse_mode": {
            "enum": ["HTML", "MarkdownV2"],
            "description": "format the title in bold (default: plain text)",
        },
        "base_url": {
            "type": "string",
            "pattern": "^https?://",
            "description": f"the Bot API's address ({DEFAULT_BASE_URL})",
        },
    }
    required = ("token", "chat_id")
    secret_fields = ("token",)

    async def send(self, notice: Notice, http: aiohttp.ClientSession | None, clock: Clock) -> str:
        assert http is not None
        base = str(self.options.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
        parse_mode = self.options.get("parse_mode")
        body: dict[str, Any] = {
            "chat_id": self.options["chat_id"],
            "text": fitted(notice.title, notice.body, parse_mode),
        }
        if parse_mode:
            body["parse_mode"] = parse_mode
        url = f"{base}/bot{self.secret('token')}/sendMessage"
        answer = await post(self, http, url, json=body)
        reply = answer.json()
        if not isinstance(reply, dict):
            raise self.fail(f"HTTP {answer.status}, not a Bot API answer: {answer.excerpt()}")
        if reply.get("ok") is True:
            result = reply.get("result")
            message_id = result.get("message_id") if isinstance(result, dict) else None
            return f"telegram message {message_id}"
        reason = str(reply.get("description") or answer.excerpt())
        retry = (reply.get("parameters") or {}).get("retry_after")
        later = f" (retry after {retry} s)" if retry else ""
        raise self.fail(f"HTTP {answer.status}: {reason}{later}")
