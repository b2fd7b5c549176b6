"""JSON over HTTP for the chargers that speak it (OpenEVSE, evcc): one request, its answer
read, and every transport failure in words a homeowner can act on.

The adapter says what an HTTP status means for its device; this says only whether the
device answered, what with, and whether that was JSON.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeGuard

import aiohttp
from yarl import URL

from flowengine.secrets import reveal

SNIPPET_CHARS = 80


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    text: str
    json: Any  # None when the body is not JSON

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


async def exchange(
    session: aiohttp.ClientSession,
    method: str,
    url: URL,
    path: str,
    *,
    timeout_s: float,
    unavailable: Callable[[str], Exception],
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """The device's answer to ``method`` ``url`` (``path``, as messages show it); a device
    that does not answer raises ``unavailable(reason)``, and so does a success that is not
    JSON."""
    try:
        async with session.request(
            method,
            url,
            json=body,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=timeout_s),
        ) as response:
            status = response.status
            text = await response.text(errors="replace")
    except TimeoutError:
        raise unavailable(f"did not answer within {timeout_s:g} s") from None
    except aiohttp.ClientConnectorError as exc:
        raise unavailable(f"not reachable ({exc.os_error or exc})") from None
    except aiohttp.ClientError as exc:
        raise unavailable(f"not reachable ({type(exc).__name__}: {exc})") from None
    try:
        parsed = json.loads(text)
    except ValueError:
        if 200 <= status < 300:
            raise unavailable(f"answered {path} with something not JSON: {snippet(text)}") from None
        parsed = None
    return Answer(status, text, parsed)


def basic_auth(user: str, password: Any) -> dict[str, str] | None:
    """HTTP Basic credentials (``password`` revealed only here), or None without one."""
    if password is None:
        return None
    pair = f"{user}:{reveal(password)}"
    return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode("ascii")}


def number(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def snippet(text: str) -> str:
    """``text`` on one line, cut short for a message."""
    text = " ".join(text.split())
    return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 3] + "..."


def shown(value: Any) -> str:
    """A JSON value for a message: ``missing`` when absent."""
    return "missing" if value is None else snippet(json.dumps(value))
