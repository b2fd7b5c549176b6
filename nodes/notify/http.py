"""One POST to a notification service, its failures turned into masked ``NotifyError``s.

No retries: a notification that fails is reported (the run fails, visibly) and
the next event tries again; waiting here would hold up the flow that sent it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from nodes.notify.channel import Channel


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    text: str

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.text)
        except ValueError:
            return None

    def excerpt(self, limit: int = 200) -> str:
        text = " ".join(self.text.split())
        return text if len(text) <= limit else text[:limit] + "…"


async def post(
    channel: Channel, session: aiohttp.ClientSession, url: str, **request: Any
) -> Answer:
    """POST to ``url``; network failures raise the channel's masked ``NotifyError``."""
    try:
        async with session.post(url, **request) as response:
            body = await response.read()
            return Answer(response.status, body.decode("utf-8", errors="replace"))
    except TimeoutError:
        raise channel.fail(f"{host_of(url)} did not answer in time") from None
    except (aiohttp.ClientError, ValueError) as exc:  # ValueError: a URL that cannot be
        reason = str(exc) or type(exc).__name__
        raise channel.fail(f"cannot reach {host_of(url)}: {reason}") from None


def host_of(url: str) -> str:
    """The host (and port) of ``url``: what an error may name without leaking a path."""
    try:
        parts = urlsplit(url)
        return parts.netloc.rpartition("@")[2] or "the server"
    except ValueError:
        return "the server"
