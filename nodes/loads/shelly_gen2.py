"""Shelly Gen2+ relays over HTTP RPC (protocols §6.3, §6.4): full frames to ``POST /rpc``.

``Switch.Set`` turns the relay; every turn-on carries ``toggle_after`` (the
load's safety_off) so the device switches itself back off if we stop renewing
it. ``Switch.GetStatus`` gives ``output`` and, on PM models, ``apower``. A
device with auth on answers 401 with a Digest challenge (RFC 7616, SHA-256,
user ``admin``, realm = the device id), which aiohttp's ``DigestAuthMiddleware``
answers. An ``{"error": ...}`` frame, a frame for another request or a result
of the wrong shape makes the load unavailable with the device's own words.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import aiohttp

from flowengine.secrets import reveal
from nodes.loads.device import LoadAuthFailed, LoadReading
from nodes.loads.settings import GEN2_USER, LoadConfig
from nodes.loads.shelly_http import ShellyHttp

#: Who we say we are in each frame (the device echoes it back).
RPC_SOURCE = "power-master"
#: RPC error code a device uses for "authentication required".
_UNAUTHORISED = 401


class ShellyGen2:
    safety_timer = True

    def __init__(
        self, config: LoadConfig, session: aiohttp.ClientSession, lock: asyncio.Lock
    ) -> None:
        self.config = config
        self.http = ShellyHttp(config, session, lock)
        self._ids = itertools.count(1)
        # One middleware per device: it keeps the device's challenge and nonce count.
        self._digest = (
            None
            if config.password is None
            else aiohttp.DigestAuthMiddleware(GEN2_USER, reveal(config.password))
        )

    async def set(self, on: bool) -> LoadReading:
        params: dict[str, Any] = {"id": self.config.channel, "on": on}
        if on:
            params["toggle_after"] = round(self.config.safety_off_s)
        result = await self.call("Switch.Set", params)
        if not isinstance(result.get("was_on"), bool):
            raise self.http.garbage("Switch.Set", result)
        return await self.read()

    async def read(self) -> LoadReading:
        status = await self.call("Switch.GetStatus", {"id": self.config.channel})
        output, power = status.get("output"), status.get("apower")
        if not isinstance(output, bool) or not _watts_or_none(power):
            raise self.http.garbage("Switch.GetStatus", status)
        return LoadReading(output, None if power is None else float(power))

    async def close(self) -> None:
        """Nothing to release: the HTTP session belongs to whoever made it."""

    async def call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """One RPC in a full frame; its ``result``, or LoadUnavailable with the device's error."""
        request_id = next(self._ids)
        frame = {"id": request_id, "src": RPC_SOURCE, "method": method, "params": params}
        middlewares = () if self._digest is None else (self._digest,)
        answer = await self.http.exchange("POST", "/rpc", body=frame, middlewares=middlewares)
        if not isinstance(answer, dict):
            raise self.http.garbage(method, answer)
        error = answer.get("error")
        if error is not None:
            code = error.get("code") if isinstance(error, dict) else None
            message = error.get("message") if isinstance(error, dict) else error
            reason = f"refused {method}: error {code}: {message}"
            if code == _UNAUTHORISED:
                raise LoadAuthFailed(self.config.id, self.config.where, reason)
            raise self.http.unavailable(reason)
        if answer.get("id") != request_id:
            raise self.http.unavailable(
                f"answered {method} request {request_id} with frame id {answer.get('id')!r}"
            )
        result = answer.get("result")
        if not isinstance(result, dict):
            raise self.http.garbage(method, answer)
        return result


def _watts_or_none(value: Any) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))
