"""A car charger run by evcc (evcc.io), through evcc's REST API.

Read: ``GET {url}/api/state``, the loadpoint ``loadpoint`` (1-based, as every evcc API
id) of its ``loadpoints`` list: ``chargePower`` (W), ``connected`` (a car plugged in),
``vehicleSoc`` (%, 0 when evcc knows no SOC), ``mode`` and ``maxCurrent`` (A). evcc
before 0.207 wrapped the state (and every answer) in ``{"result": ...}``
(evcc-io/evcc#22299 removed it); both are read.

Set: evcc keeps running the charger (its protocol, its phases, its safety), and Power
Master picks the power with two of evcc's loadpoint settings:

- power: ``POST /api/loadpoints/<id>/maxcurrent/<A>`` then ``.../mode/now``;
- stop: ``POST /api/loadpoints/<id>/mode/off``.

In ``now`` evcc charges at the loadpoint's maximum current, and in ``off`` not at all:
neither consults PV surplus, charging plans or the smart cost limit, so evcc's own
optimiser never fights the plan. The other levers were rejected: ``pv``/``minpv`` let
evcc decide from the surplus, ``/api/residualpower`` and ``/api/batterymode`` shift the
whole site's balance (every loadpoint and the house battery) rather than set one car's
power, ``smartcostlimit`` only gates evcc's own plan on price. evcc stores both
settings and ignores a POST of the value it already has, so sending them again each
time is harmless. Give evcc's loadpoint ``minCurrent`` at most 6 A (evcc refuses a
maximum below its minimum) and fix its phases to the load's ``phases``. evcc may reset
the mode when a car leaves (its loadpoint default mode); the next set_power puts it
back.

Whole amps only, rounded down; below 6 A or the load's ``min_w`` it stops.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from yarl import URL

from nodes.flexible.device import ChargerReading, ChargerUnavailable, amps_for, watts_for
from nodes.flexible.http_json import basic_auth, exchange, number, shown, snippet
from nodes.flexible.settings import FlexConfig

MIN_AMPS = 6


class Evcc:
    def __init__(self, config: FlexConfig, session: aiohttp.ClientSession) -> None:
        self.config = config
        self.session = session
        self.url = URL(str(config.get("url")).rstrip("/"))
        self.loadpoint = int(config.get("loadpoint"))

    @property
    def where(self) -> str:
        shown = self.url.with_user(None).with_password(None)
        return f"evcc at {shown} loadpoint {self.loadpoint}"

    async def read(self) -> ChargerReading:
        state = _unwrap(await self._exchange("GET", "api/state"), "loadpoints")
        loadpoints = state.get("loadpoints") if isinstance(state, dict) else None
        if not isinstance(loadpoints, list):
            raise self._unavailable("answered api/state without a loadpoints list")
        if not 1 <= self.loadpoint <= len(loadpoints):
            raise self._unavailable(
                f"has {len(loadpoints)} loadpoint(s); there is no loadpoint {self.loadpoint}"
            )
        point = loadpoints[self.loadpoint - 1]
        if not isinstance(point, dict):
            raise self._unavailable(f"answered api/state with loadpoint {shown(point)}")
        power, connected = point.get("chargePower"), point.get("connected")
        if not number(power):
            raise self._unavailable(f"answered api/state with chargePower {shown(power)}")
        soc = point.get("vehicleSoc")
        return ChargerReading(
            power_w=max(0.0, float(power)),
            plugged=connected if isinstance(connected, bool) else None,
            soc=float(soc) / 100.0 if number(soc) and 0 < soc <= 100 else None,
            setpoint_w=self._setpoint(point),
        )

    async def set_power(self, watts: float) -> float:
        config = self.config
        amps = amps_for(config, min(watts, config.max_w))
        if amps < MIN_AMPS or watts < config.min_w:
            await self._post("mode", "off")
            return 0.0
        # The current first: switching to "now" under the old maximum would overshoot.
        await self._post("maxcurrent", str(amps))
        await self._post("mode", "now")
        return watts_for(config, amps)

    def close(self) -> None:
        """Nothing to release: the session is shared, and evcc keeps the last mode."""

    def _setpoint(self, point: dict[str, Any]) -> float | None:
        mode, current = point.get("mode"), point.get("maxCurrent")
        if mode == "off":
            return 0.0
        if mode == "now" and number(current):
            return watts_for(self.config, current)
        return None  # evcc decides (pv, minpv): not what we told it

    async def _post(self, setting: str, value: str) -> None:
        await self._exchange("POST", f"api/loadpoints/{self.loadpoint}/{setting}/{value}")

    async def _exchange(self, method: str, path: str) -> Any:
        """The JSON evcc answers; every failure a ChargerUnavailable in words."""
        answer = await exchange(
            self.session,
            method,
            self.url / path,
            path,
            timeout_s=self.config.timeout_s,
            unavailable=self._unavailable,
            headers=self._auth(),
        )
        if answer.status == 401:
            raise self._unavailable(f"refused {method} {path} (HTTP 401): check username/password")
        if not answer.ok:
            said = answer.json.get("error") if isinstance(answer.json, dict) else None
            raise self._unavailable(
                f"answered {method} {path} with HTTP {answer.status}: "
                f"{said or snippet(answer.text)}"
            )
        return answer.json

    def _auth(self) -> dict[str, str] | None:
        """Basic auth for an evcc behind a proxy that asks for it (evcc itself does not)."""
        return basic_auth(str(self.config.get("username") or ""), self.config.get("password"))

    def _unavailable(self, reason: str) -> ChargerUnavailable:
        return ChargerUnavailable(self.config.id, self.where, reason)


def _unwrap(answer: Any, key: str) -> Any:
    """evcc's answer without the ``{"result": ...}`` wrapper older versions put round it."""
    if isinstance(answer, dict) and key not in answer and isinstance(answer.get("result"), dict):
        return answer["result"]
    return answer
