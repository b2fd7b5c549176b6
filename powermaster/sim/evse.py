"""A simulated car on a simulated OpenEVSE, spoken to over real HTTP in OpenEVSE's format.

The car comes home at ``arrive`` (local time) at ``arrive_soc``, is plugged in, and
leaves at ``leave``; what it holds when it leaves is recorded (``departures``), so a
backtest can say whether its target was met every day. The EVSE draws the claimed
current (whole amps per phase, at least 6 A, at most its own maximum) while a car is
plugged in, the claim says active and the car is not full; the site's meter sees that
draw as part of the house load (``with_car``), so the battery, the plan and the bill
all meet it as they would at home.

The HTTP side answers ``GET /status`` and ``POST``/``DELETE /claims/<client>`` as the
OpenEVSE ESP32 gateway does (nodes/flexible/openevse.py and docs/chargers.md), with
the state it was last told. Time is the owner's clock (a backtest's virtual one).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from aiohttp import web

from powermaster.sim.site import Profile

MIN_AMPS = 6


@dataclass
class SimCar:
    """A car's battery and its days: home from ``arrive_min`` to ``leave_min`` (local)."""

    zone: tzinfo
    capacity_kwh: float = 60.0
    efficiency: float = 0.9  # of the energy drawn, what reaches the battery
    arrive_min: int = 18 * 60
    leave_min: int = 7 * 60 + 30
    arrive_soc: float = 0.3
    soc: float = 0.3
    #: (epoch of each departure, SOC it left with)
    departures: list[tuple[float, float]] = field(default_factory=list)

    def home(self, t: float) -> bool:
        """Plugged in at ``t``: between arrival and departure (a window past midnight)."""
        local = datetime.fromtimestamp(t, self.zone)
        minute = local.hour * 60 + local.minute + local.second / 60
        if self.arrive_min > self.leave_min:
            return minute >= self.arrive_min or minute < self.leave_min
        return self.arrive_min <= minute < self.leave_min

    def next_change(self, t: float) -> float:
        """The next arrival or departure after ``t``."""
        local = datetime.fromtimestamp(t, self.zone)
        midnight = datetime(local.year, local.month, local.day, tzinfo=self.zone)
        found = []
        for day in range(3):
            for minute in (self.arrive_min, self.leave_min):
                at = (midnight + timedelta(days=day, minutes=minute)).timestamp()
                if at > t:
                    found.append(at)
        return min(found)


@dataclass
class SimEvse:
    """The EVSE: a claim (active or disabled, a current) and the car it charges."""

    car: SimCar
    clock: Callable[[], float]
    voltage: float = 230.0
    phases: int = 1
    max_amps: int = 32
    #: called with the time before the draw changes (the site model integrates up to it)
    before_change: Callable[[float], None] = lambda t: None
    active: bool = False
    amps: int = 0
    time: float = field(default=math.nan)
    #: kWh drawn from the wall since the start, and in each slot (by slot start epoch)
    drawn_kwh: float = 0.0
    slot_seconds: float = 1800.0
    drawn_by_slot: dict[float, float] = field(default_factory=dict)
    claims: list[dict[str, Any]] = field(default_factory=list)

    def draw_w(self, t: float) -> float:
        """What it draws at ``t`` (W): the claim's current while a car that is not full is in."""
        if not (self.active and self.amps >= MIN_AMPS and self.car.home(t) and self.car.soc < 1):
            return 0.0
        return min(self.amps, self.max_amps) * self.voltage * self.phases

    def advance_to(self, t: float) -> None:
        """The car's battery up to ``t``: charged at the draw, reset on arrival, its SOC
        recorded on departure."""
        if math.isnan(self.time):
            self.time = t
            return
        while self.time < t:
            change = self.car.next_change(self.time)
            slot_end = (math.floor(self.time / self.slot_seconds) + 1) * self.slot_seconds
            end = min(t, change, slot_end)
            power = self.draw_w(self.time)
            kwh = power * (end - self.time) / 3.6e6
            room = (1.0 - self.car.soc) * self.car.capacity_kwh / self.car.efficiency
            kwh = min(kwh, room)
            self.drawn_kwh += kwh
            if kwh > 0:
                slot = math.floor(self.time / self.slot_seconds) * self.slot_seconds
                self.drawn_by_slot[slot] = self.drawn_by_slot.get(slot, 0.0) + kwh
            self.car.soc = min(
                1.0, self.car.soc + kwh * self.car.efficiency / self.car.capacity_kwh
            )
            if end == change:
                if self.car.home(change - 1) and not self.car.home(change):
                    self.car.departures.append((change, self.car.soc))
                elif self.car.home(change) and not self.car.home(change - 1):
                    self.car.soc = self.car.arrive_soc
            self.time = end

    def claim(self, active: bool, amps: int) -> None:
        now = self.clock()
        self.before_change(now)
        self.advance_to(now)
        self.active, self.amps = active, max(0, int(amps))

    # -- HTTP, as the gateway answers --------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/status", self._status)
        app.router.add_route("*", "/claims/{client}", self._claim)
        return app

    def status(self) -> dict[str, Any]:
        now = self.clock()
        self.advance_to(now)
        home = self.car.home(now)
        draw = self.draw_w(now)
        state = 254 if not self.active else (3 if draw > 0 else (2 if home else 1))
        return {
            "amp": round(draw / (self.voltage * self.phases) * 1000) if draw else 0,
            "voltage": self.voltage,
            "pilot": self.amps if self.active else 0,
            "state": state,
            "status": "active" if self.active else "disabled",
            "vehicle": 1 if home else 0,
            "battery_level": round(self.car.soc * 100) if home else None,
            "manual_override": 0,
            "wh": round(self.drawn_kwh * 1000),
        }

    async def _status(self, request: web.Request) -> web.Response:
        document = {k: v for k, v in self.status().items() if v is not None}
        return web.json_response(document)

    async def _claim(self, request: web.Request) -> web.Response:
        if request.method == "DELETE":
            self.claim(False, 0)
            return web.json_response({"msg": "done"})
        if request.method != "POST":
            return web.json_response({"msg": "method not allowed"}, status=405)
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"msg": "could not parse JSON"}, status=400)
        self.claims.append(dict(body))
        active = body.get("state", "active") == "active"
        amps = int(body.get("charge_current", self.max_amps if active else 0))
        self.claim(active, min(amps, self.max_amps))
        return web.json_response({"msg": "done"})


@dataclass(frozen=True)
class WithCar:
    """A site profile whose load includes what the EVSE draws."""

    base: Profile
    evse: SimEvse

    @property
    def slot_seconds(self) -> float:
        return self.base.slot_seconds

    def __call__(self, t: float) -> tuple[float, float]:
        pv, load = self.base(t)
        self.evse.advance_to(t)
        return pv, load + self.evse.draw_w(t)
