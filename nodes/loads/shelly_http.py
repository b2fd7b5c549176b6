"""One HTTP exchange with a Shelly, one at a time per device, every failure in words.

Shelly HTTP has no keep-alive and Gen2+ serves a handful of channels at once
(protocols §6.3), so requests to one device wait for each other (the lock is
per host, shared by the loads on one multi-relay device). A device that is
offline, too slow, refuses our credentials or answers something other than
JSON raises ``LoadUnavailable`` with the load, the device and what happened.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp
from yarl import URL

from nodes.loads.device import LoadAuthFailed, LoadUnavailable
from nodes.loads.settings import LoadConfig

#: Shown when an answer is not what a Shelly says; long bodies are cut.
_SNIPPET_CHARS = 80


class ShellyHttp:
    """Requests to one Shelly for one load, serialised on the device's lock."""

    def __init__(
        self, config: LoadConfig, session: aiohttp.ClientSession, lock: asyncio.Lock
    ) -> None:
        self.config = config
        self.session = session
        self.lock = lock
        self.base = URL.build(scheme="http", host=str(config.host), port=config.port)
        self.timeout = aiohttp.ClientTimeout(total=config.timeout_s)

    def unavailable(self, reason: str) -> LoadUnavailable:
        return LoadUnavailable(self.config.id, self.config.where, reason)

    async def exchange(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        middlewares: Sequence[Any] = (),
        missing_ok: bool = False,
    ) -> Any:
        """The JSON the device answers (None for a 404 when ``missing_ok``)."""
        async with self.lock:
            try:
                async with self.session.request(
                    method,
                    self.base.with_path(path),
                    params=params,
                    json=body,
                    headers=headers,
                    timeout=self.timeout,
                    middlewares=tuple(middlewares) or None,
                ) as response:
                    status = response.status
                    text = await response.text(errors="replace")
            except TimeoutError:
                raise self.unavailable(
                    f"did not answer within {self.config.timeout_s:g} s"
                ) from None
            except aiohttp.ClientConnectorError as exc:
                raise self.unavailable(f"not reachable ({exc.os_error or exc})") from None
            except aiohttp.ClientError as exc:
                raise self.unavailable(f"not reachable ({type(exc).__name__}: {exc})") from None
        if status == 401:
            raise LoadAuthFailed(self.config.id, self.config.where, self._auth_reason())
        if status == 404 and missing_ok:
            return None
        try:
            answer = json.loads(text)
        except ValueError:
            answer = None
            if 200 <= status < 300:
                raise self.unavailable(
                    f"answered {path} with something not JSON: {_snippet(text)}"
                ) from None
        if not 200 <= status < 300 and not (isinstance(answer, dict) and "error" in answer):
            raise self.unavailable(f"answered {path} with HTTP {status}: {_snippet(text)}")
        return answer

    def _auth_reason(self) -> str:
        if self.config.password is None:
            return (
                "asks for a password (auth is on in the device); set "
                f"loads.{self.config.id}.password"
            )
        user = self.config.username if self.config.adapter == "shelly_gen1" else "admin"
        return f"refused the password for user {user!r} (HTTP 401)"

    def garbage(self, what: str, answer: Any) -> LoadUnavailable:
        return self.unavailable(f"answered {what} with {_snippet(json.dumps(answer))}")


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _SNIPPET_CHARS else text[: _SNIPPET_CHARS - 3] + "..."
