"""An OpenEVSE charger through its WiFi gateway's HTTP API (ESP32 firmware 4.1 and later).

Read: ``GET /status``. ``amp`` is the charge current in mA, ``voltage`` in V (the
firmware's default, 240, unless a sensor or MQTT feeds it), ``pilot`` the current it
offers the car in A (the winner of its claims, below), ``state`` the EVSE state
(1 no car, 2 car connected, 3 charging, 254 sleeping, 255 disabled; 4-11 and 0 are
faults or an EVSE controller that does not answer the gateway), ``status`` its target
(``active`` or ``disabled``), ``vehicle`` 1 while a car is plugged in, and
``battery_level`` the car's SOC in % when something (a vehicle integration, a POST to
/status) told it. The power is ``amp`` / 1000 x ``voltage`` x the load's ``phases``: the
firmware measures one phase.

Set: a claim, ``POST /claims/<client>`` with ``{"state": "active", "charge_current": A}``
or ``{"state": "disabled"}``. Claims are the EVSE manager's arbitration (priority API,
500): ours outranks the firmware's own solar divert (50), timers (100) and boost (200),
while the user's manual override on the charger (1000), RFID, OCPP and limits still win.
evcc's and Home Assistant's OpenEVSE integrations control it the same way; the older
``/override`` is the manual override itself, so writing it would take the charger's
own Start/Stop button away from the household. Our claim is never auto-released: a car
plugged in later waits for the plan instead of starting at full current. A firmware
reboot drops every claim; the next set_power makes it again.

Whole amps only, rounded down; below the J1772 minimum (6 A) or the load's ``min_w``
it stops. HTTP Basic auth when the gateway has a password.
"""

from __future__ import annotations

import json
from typing import Any, TypeGuard

import aiohttp
from yarl import URL

from nodes.flexible.device import ChargerReading, ChargerUnavailable, amps_for, watts_for
from nodes.flexible.http_json import basic_auth, exchange, number, shown, snippet
from nodes.flexible.settings import FlexConfig

#: Our EVSE client id for claims: vendor 0x504D ("PM", not registered with OpenEVSE),
#: client 1. The firmware parses it with a signed 32-bit toInt, so it stays below 2**31.
CLAIM_CLIENT = (0x504D << 16) | 0x0001
#: The least current a J1772 pilot may offer.
MIN_AMPS = 6
#: The gateway's default user when auth is on.
DEFAULT_USER = "admin"
STATES = {
    0: "unknown (the EVSE controller does not answer the gateway)",
    1: "not connected",
    2: "connected",
    3: "charging",
    4: "vent required",
    5: "diode check failed",
    6: "GFCI fault",
    7: "no ground",
    8: "stuck relay",
    9: "GFCI self-test failure",
    10: "over temperature",
    11: "over current",
    254: "sleeping",
    255: "disabled",
}
_WORKING = (1, 2, 3, 254, 255)


class OpenEvse:
    def __init__(self, config: FlexConfig, session: aiohttp.ClientSession) -> None:
        self.config = config
        self.session = session
        self.host = str(config.get("host"))
        self.port = int(config.get("port"))
        self.base = URL.build(scheme="http", host=self.host, port=self.port)

    @property
    def where(self) -> str:
        return f"OpenEVSE at {self.host}:{self.port}"

    async def read(self) -> ChargerReading:
        status = await self._exchange("GET", "/status")
        if not isinstance(status, dict):
            raise self._garbage("/status", status)
        state, amp, voltage = status.get("state"), status.get("amp"), status.get("voltage")
        if not _int(state):
            raise self._unavailable(f"answered /status with state {shown(state)}")
        if not number(amp) or amp < 0:
            raise self._unavailable(f"answered /status with amp {shown(amp)} (mA)")
        if state not in _WORKING:
            name = STATES.get(state, "not a state the firmware knows")
            raise self._unavailable(f"reports EVSE state {state}: {name}")
        volts = float(voltage) if number(voltage) and voltage > 0 else self.config.voltage
        vehicle = status.get("vehicle")
        plugged = bool(vehicle) if vehicle in (0, 1) else state in (2, 3)
        return ChargerReading(
            power_w=amp / 1000.0 * volts * self.config.phases,
            plugged=plugged,
            soc=_soc(status.get("battery_level")),
            setpoint_w=self._setpoint(status),
        )

    async def set_power(self, watts: float) -> float:
        config = self.config
        amps = amps_for(config, min(watts, config.max_w))
        if amps < MIN_AMPS or watts < config.min_w:
            claim: dict[str, Any] = {"state": "disabled", "auto_release": False}
            asked = 0.0
        else:
            claim = {"state": "active", "charge_current": amps, "auto_release": False}
            asked = watts_for(config, amps)
        await self._exchange("POST", f"/claims/{CLAIM_CLIENT}", claim)
        return asked

    def close(self) -> None:
        """Nothing to release here: the session is shared, and the claim stays (see above)."""

    def _setpoint(self, status: dict[str, Any]) -> float | None:
        if status.get("status") == "disabled":
            return 0.0
        pilot = status.get("pilot")
        return watts_for(self.config, pilot) if number(pilot) and pilot >= 0 else None

    async def _exchange(self, method: str, path: str, body: Any = None) -> Any:
        """The JSON the gateway answers; every failure a ChargerUnavailable in words."""
        answer = await exchange(
            self.session,
            method,
            self.base.with_path(path),
            path,
            timeout_s=self.config.timeout_s,
            unavailable=self._unavailable,
            body=body,
            headers=self._auth(),
        )
        if answer.status == 401:
            raise self._unavailable(self._auth_reason())
        if answer.status == 404 and path.startswith("/claims"):
            raise self._unavailable("has no claims API (HTTP 404): it needs firmware 4.1 or later")
        if not answer.ok:
            said = answer.json.get("msg") if isinstance(answer.json, dict) else None
            raise self._unavailable(
                f"answered {method} {path} with HTTP {answer.status}: "
                f"{said or snippet(answer.text)}"
            )
        return answer.json

    def _auth(self) -> dict[str, str] | None:
        """HTTP Basic credentials, revealed only here (never logged, never in an error)."""
        return basic_auth(self._user(), self.config.get("password"))

    def _user(self) -> str:
        return str(self.config.get("username") or DEFAULT_USER)

    def _auth_reason(self) -> str:
        if self.config.get("password") is None:
            return (
                "asks for a password (auth is on in the gateway); set "
                f"flexible_loads.{self.config.id}.username and password"
            )
        return f"refused the password for user {self._user()!r} (HTTP 401)"

    def _unavailable(self, reason: str) -> ChargerUnavailable:
        return ChargerUnavailable(self.config.id, self.where, reason)

    def _garbage(self, what: str, answer: Any) -> ChargerUnavailable:
        return self._unavailable(f"answered {what} with {snippet(json.dumps(answer))}")


def _int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _soc(value: Any) -> float | None:
    """The car's SOC as a fraction, from a percentage (None when absent or nonsense)."""
    if not number(value) or not 0 <= value <= 100:
        return None
    return float(value) / 100.0
