"""evcc's REST API on 127.0.0.1, answering as evcc does (server/http.go, http_site_handler.go).

``GET /api/state`` gives the site state with its ``loadpoints`` list; the loadpoint
routes exist only for loadpoints that exist (1-based, as every evcc API id), any other
path is gorilla/mux's ``404 page not found``. ``POST /api/loadpoints/<id>/mode/<mode>``
and ``.../maxcurrent/<A>`` answer the value now set, or HTTP 400 ``{"error": ...}`` (an
unknown mode, a maximum under the loadpoint's minimum current). ``legacy`` wraps every
answer in ``{"result": ...}`` as evcc did before 0.207. The charger follows: in ``now``
a connected car draws ``maxCurrent`` on its active phases, in ``off`` nothing (what it
does in pv/minpv is evcc's business; here nothing).
"""

from __future__ import annotations

import copy
from typing import Any

from aiohttp import web

from tests.nodes.loads.fake_shelly import _Server

MODES = ("off", "pv", "minpv", "now")
VOLTAGE = 230.0

LOADPOINT: dict[str, Any] = {
    "title": "Garage",
    "mode": "pv",
    "enabled": False,
    "connected": True,
    "charging": False,
    "chargePower": 0.0,
    "chargeCurrents": [0.0, 0.0, 0.0],
    "chargedEnergy": 0.0,
    "chargeDuration": 0,
    "sessionEnergy": 0.0,
    "offeredCurrent": 0.0,
    "minCurrent": 6.0,
    "maxCurrent": 16.0,
    "phasesConfigured": 1,
    "phasesActive": 1,
    "vehicleName": "db:1",
    "vehicleTitle": "ID.3",
    "vehicleSoc": 42.0,
    "vehicleRange": 180,
    "limitSoc": 0,
    "effectiveLimitSoc": 80,
    "smartCostLimit": None,
    "planActive": False,
    "priority": 0,
}


class FakeEvcc(_Server):
    def __init__(self, port: int, legacy: bool = False) -> None:
        super().__init__(port)
        self.legacy = legacy
        second = {**copy.deepcopy(LOADPOINT), "title": "Carport", "connected": False}
        self.loadpoints: list[dict[str, Any]] = [copy.deepcopy(LOADPOINT), second]
        self.posts: list[str] = []  # the paths POSTed, in order

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/api/state", self._state)
        app.router.add_post("/api/loadpoints/{id:[0-9]+}/mode/{value:[a-z]+}", self._mode)
        app.router.add_post(
            "/api/loadpoints/{id:[0-9]+}/maxcurrent/{value:[0-9.]+}", self._maxcurrent
        )

    def state(self) -> dict[str, Any]:
        return {
            "siteTitle": "Home",
            "currency": "EUR",
            "version": "0.131.4" if self.legacy else "0.210.2",
            "pvPower": 3240.0,
            "homePower": 512.0,
            "grid": {"power": -1210.0, "currents": [-5.1, 0.4, 0.3]},
            "battery": {"power": 0.0, "soc": 71.0, "capacity": 10.0},
            "residualPower": 0.0,
            "prioritySoc": 0.0,
            "bufferSoc": 0.0,
            "smartCostType": "price",
            "tariffGrid": 0.301,
            "loadpoints": self.loadpoints,
            "vehicles": {"db:1": {"title": "ID.3", "capacity": 58.0, "minSoc": 0, "limitSoc": 80}},
        }

    def _answer(self, value: Any, status: int = 200) -> web.Response:
        body = {"result": value} if self.legacy and status == 200 else value
        return web.json_response(body, status=status)

    def _point(self, request: web.Request) -> dict[str, Any] | None:
        index = int(request.match_info["id"])
        return self.loadpoints[index - 1] if 1 <= index <= len(self.loadpoints) else None

    async def _state(self, request: web.Request) -> web.Response:
        misbehaving = await self.misbehave()
        if misbehaving is not None:
            return misbehaving
        return self._answer(self.state())

    async def _mode(self, request: web.Request) -> web.Response:
        self.posts.append(request.path)
        point, misbehaving = self._point(request), await self.misbehave()
        if misbehaving is not None:
            return misbehaving
        if point is None:
            return _not_found()
        mode = request.match_info["value"]
        if mode not in MODES:
            return self._answer({"error": f"invalid charge mode: {mode}"}, 400)
        point["mode"] = mode
        self._follow(point)
        return self._answer(mode)

    async def _maxcurrent(self, request: web.Request) -> web.Response:
        self.posts.append(request.path)
        point, misbehaving = self._point(request), await self.misbehave()
        if misbehaving is not None:
            return misbehaving
        if point is None:
            return _not_found()
        current = float(request.match_info["value"])
        if current < point["minCurrent"]:
            error = "max current must be greater or equal than min current"
            return self._answer({"error": error}, 400)
        point["maxCurrent"] = current
        self._follow(point)
        return self._answer(current)

    def _follow(self, point: dict[str, Any]) -> None:
        """What the charger under evcc does next: draw maxCurrent in now, nothing in off."""
        charging = point["mode"] == "now" and point["connected"]
        amps = point["maxCurrent"] if charging else 0.0
        point.update(
            enabled=point["mode"] == "now",
            charging=charging,
            offeredCurrent=amps,
            chargePower=amps * VOLTAGE * point["phasesActive"],
        )


def _not_found() -> web.Response:
    return web.Response(status=404, text="404 page not found\n", content_type="text/plain")
