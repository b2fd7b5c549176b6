"""An OpenEVSE WiFi gateway (ESP32 firmware v4.1+/v5) on 127.0.0.1 that answers as it does.

``GET /status`` gives the firmware's status document (``amp`` in mA, ``voltage``,
``pilot`` in A, ``state``, ``status``, ``vehicle``, ``manual_override``, and
``battery_level`` only when it knows the car's SOC). ``/claims/<client>`` takes
``POST`` (a JSON EvseProperties body: state, charge_current, max_current,
auto_release), ``GET`` and ``DELETE`` as src/web_server_claims.cpp does, and the claims
are arbitrated as the EVSE manager does: the highest priority claim that sets a
property wins it (API claims 500, the manual override 1000). With a password every
request needs HTTP Basic auth, as requestPreProcess asks. It records every request and
can hang, answer garbage or an HTTP error (the loads' fake Shelly behaviours).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.nodes.loads.fake_shelly import _Server

API_PRIORITY = 500
MANUAL_PRIORITY = 1000
MANUAL_CLIENT = (0x0001 << 16) | 0x0001  # EvseClient_OpenEVSE_Manual


@dataclass
class Claim:
    priority: int
    properties: dict[str, Any]


class FakeOpenEvse(_Server):
    def __init__(self, port: int, username: str = "admin", password: str | None = None) -> None:
        super().__init__(port)
        self.username, self.password = username, password
        self.vehicle = True  # a car is plugged in
        self.car_max_a = 32.0  # what the car's onboard charger takes at most
        self.max_current = 32  # the EVSE's configured maximum
        self.voltage = 240.0
        self.battery_level: int | None = None  # the car's SOC in %, when told
        self.fault: int | None = None  # an EVSE error state (4-11)
        self.claims: dict[int, Claim] = {}
        self.requests: list[tuple[str, str, Any]] = []  # method, path, JSON body

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/status", self._status)
        app.router.add_route("*", "/claims", self._claims)
        app.router.add_route("*", "/claims/{client}", self._claims)

    def manual_override(self, state: str, charge_current: int | None = None) -> None:
        """The household pressed Start/Stop (or set a current) on the charger itself."""
        properties: dict[str, Any] = {"state": state}
        if charge_current is not None:
            properties["charge_current"] = charge_current
        self.claims[MANUAL_CLIENT] = Claim(MANUAL_PRIORITY, properties)

    def target(self) -> tuple[str, int]:
        """The EVSE manager's arbitration: the state and current of the strongest claims."""
        ranked = sorted(self.claims.values(), key=lambda c: -c.priority)
        state = next((c.properties["state"] for c in ranked if "state" in c.properties), "active")
        current = next(
            (c.properties["charge_current"] for c in ranked if "charge_current" in c.properties),
            self.max_current,
        )
        return state, min(int(current), self.max_current)

    def status(self) -> dict[str, Any]:
        target, pilot = self.target()
        if self.fault is not None:
            state, amps = self.fault, 0.0
        elif target == "disabled":
            state, amps = 254, 0.0
        elif not self.vehicle:
            state, amps = 1, 0.0
        else:
            state, amps = 3, min(float(pilot), self.car_max_a)
        document: dict[str, Any] = {
            "mode": "STA",
            "wifi_client_connected": 1,
            "eth_connected": 0,
            "net_connected": 1,
            "ipaddress": self.host,
            "macaddress": "a8:03:2a:b1:c2:d3",
            "emoncms_connected": 0,
            "packets_sent": 0,
            "packets_success": 0,
            "mqtt_connected": 1,
            "ocpp_connected": 0,
            "ohm_hour": "NotConnected",
            "free_heap": 160224,
            "comm_sent": 37201,
            "comm_success": 37199,
            "rapi_connected": 1,
            "evse_connected": 1,
            "amp": amps * 1000,
            "voltage": self.voltage,
            "pilot": pilot,
            "wh": 4523118,
            "temp": 312,
            "temp1": False,
            "temp2": 312,
            "temp3": False,
            "temp4": 285,
            "state": state,
            "status": target,
            "flags": 512,
            "vehicle": 1 if self.vehicle else 0,
            "colour": 3 if state == 3 else 2,
            "manual_override": 1 if MANUAL_CLIENT in self.claims else 0,
            "freeram": 160224,
            "divertmode": 1,
            "srssi": -61,
            "time": "2026-01-15T05:00:00Z",
            "offset": "+1000",
            "elapsed": 1260 if state == 3 else 0,
            "gfcicount": 0,
            "nogndcount": 0,
            "stuckcount": 0,
            "solar": 0,
            "grid_ie": 0,
            "charge_rate": 0,
            "divert_update": 120,
            "divert_active": False,
            "shaper": 0,
            "shaper_live_pwr": 0,
            "shaper_cur": self.max_current,
            "shaper_updated": False,
            "service_level": 2,
            "limit": False,
            "ota_update": 0,
            "config_version": 4,
            "claims_version": len(self.claims),
            "override_version": 1,
            "schedule_version": 1,
            "schedule_plan_version": 1,
            "limit_version": 1,
            "vehicle_state_update": 35,
            "tesla_vehicle_count": False,
            "tesla_vehicle_id": False,
            "tesla_vehicle_name": False,
        }
        if self.battery_level is not None:
            document["battery_level"] = self.battery_level
        return document

    def _refused(self, request: web.Request) -> web.Response | None:
        if self.password is None:
            return None
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        if request.headers.get("Authorization") == f"Basic {token}":
            return None
        return web.Response(
            status=401,
            text="Unauthorized",
            headers={"WWW-Authenticate": 'Basic realm="openevse-c2d3"'},
        )

    async def _pre(self, request: web.Request) -> tuple[Any, web.Response | None]:
        text = await request.text()
        body: Any = None
        if text:
            try:
                body = json.loads(text)
            except ValueError:
                body = text
        self.requests.append((request.method, request.path, body))
        refused = self._refused(request) or await self.misbehave()
        return body, refused

    async def _status(self, request: web.Request) -> web.Response:
        _, refused = await self._pre(request)
        if refused is not None:
            return refused
        if request.method != "GET":
            return _msg(405, "Method not allowed")
        return web.json_response(self.status())

    async def _claims(self, request: web.Request) -> web.Response:
        body, refused = await self._pre(request)
        if refused is not None:
            return refused
        client = _to_int(request.match_info.get("client", ""))
        if request.method == "GET":
            if client is None:
                return web.json_response([self._claim(c) for c in self.claims])
            if client not in self.claims:
                return _msg(404, "Not found")
            return web.json_response(self._claim(client))
        if client is None:
            return _msg(405, "Method not allowed")
        if request.method == "POST":
            properties = _properties(body)
            if properties is None:
                return _msg(400, "Could not parse JSON")
            self.claims[client] = Claim(API_PRIORITY, properties)
            return _msg(200, "done")
        if request.method == "DELETE":
            if self.claims.pop(client, None) is None:
                return _msg(404, "Not found")
            return _msg(200, "done")
        return _msg(405, "Method not allowed")

    def _claim(self, client: int) -> dict[str, Any]:
        claim = self.claims[client]
        return {"client": client, "priority": claim.priority, **claim.properties}


def _properties(body: Any) -> dict[str, Any] | None:
    """EvseProperties::deserialize: a JSON object whose state is active or disabled."""
    if not isinstance(body, dict):
        return None
    if "state" in body and body["state"] not in ("active", "disabled"):
        return None
    known = ("state", "charge_current", "max_current", "auto_release")
    return {key: body[key] for key in known if key in body}


def _to_int(text: str) -> int | None:
    """Arduino String::toInt for the claim's client id (None when there is none)."""
    return int(text) if text.isdigit() else None


def _msg(status: int, message: str) -> web.Response:
    return web.json_response({"msg": message}, status=status)
