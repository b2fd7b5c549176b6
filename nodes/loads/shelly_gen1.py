"""Shelly Gen1 relays over HTTP (protocols §6.2): /relay/<ch> to switch, /meter/<ch> for power.

Every turn-on carries ``timer=<safety_off>``: the relay flips itself back off
after that long unless we turn it on again (which restarts the timer), so a
load we switched on does not run on if Power Master stops. Auth, when the
device has it on, is HTTP Basic. Models without a meter (Shelly 1) answer 404
on /meter; their power is then unknown (None) and not asked again.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import aiohttp

from flowengine.secrets import reveal
from nodes.loads.device import LoadReading
from nodes.loads.settings import LoadConfig
from nodes.loads.shelly_http import ShellyHttp


class ShellyGen1:
    safety_timer = True

    def __init__(
        self, config: LoadConfig, session: aiohttp.ClientSession, lock: asyncio.Lock
    ) -> None:
        self.config = config
        self.http = ShellyHttp(config, session, lock)
        self._metered: bool | None = None  # None: not asked yet

    async def set(self, on: bool) -> LoadReading:
        params = (
            {"turn": "on", "timer": str(round(self.config.safety_off_s))} if on else {"turn": "off"}
        )
        status = await self._relay(params)
        return LoadReading(self._ison(status), await self._power())

    async def read(self) -> LoadReading:
        status = await self._relay(None)
        return LoadReading(self._ison(status), await self._power())

    async def close(self) -> None:
        """Nothing to release: the HTTP session belongs to whoever made it."""

    async def _relay(self, params: dict[str, str] | None) -> Any:
        path = f"/relay/{self.config.channel}"
        return await self.http.exchange("GET", path, params=params, headers=self._auth())

    async def _power(self) -> float | None:
        if self._metered is False:
            return None
        path = f"/meter/{self.config.channel}"
        meter = await self.http.exchange("GET", path, headers=self._auth(), missing_ok=True)
        if meter is None:
            self._metered = False
            return None
        power = meter.get("power") if isinstance(meter, dict) else None
        if isinstance(power, bool) or not isinstance(power, int | float):
            raise self.http.garbage(path, meter)
        self._metered = True
        return float(power)

    def _ison(self, status: Any) -> bool:
        ison = status.get("ison") if isinstance(status, dict) else None
        if not isinstance(ison, bool):
            raise self.http.garbage(f"/relay/{self.config.channel}", status)
        return ison

    def _auth(self) -> dict[str, str] | None:
        """HTTP Basic credentials, revealed only here (never logged, never in an error)."""
        if self.config.password is None:
            return None
        pair = f"{self.config.username or 'admin'}:{reveal(self.config.password)}"
        return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode("ascii")}
