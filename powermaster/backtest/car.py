"""A car in the backtest, and the two ways people charge one without Power Master.

``CarSpec`` is the car of issue 21's benchmark: home from 18:00 at 30 %, gone at 07:30
needing 80 %, an 11 kW (16 A, three-phase) charger. ``run_backtest(scenario, car=...)``
puts it on the simulated OpenEVSE (powermaster/sim/evse.py) and drives it with the
shipped flows as a ``flexible_loads`` car; the result's ``car`` says what it left with
each morning.

The baselines, on the same house with the same battery plan:

- ``charge on arrival``: the charger runs at its most from 18:00 until the car is at its
  target (``on_arrival_w``, added to the house load the flows meet, which knows it);
- ``cheapest hours, no house battery``: the car's energy bought from the grid in the
  cheapest slots of its night, at the charger's most as far as the grid connection
  allows beside the house (``cheapest_hours_cost``), on top of the bill of the same house
  with no car.

A scenario that ends in an evening the car is home leaves it charging for a morning
past the end; ``unfinished_night_cost`` is what that cost, taken off before comparing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from powermaster.backtest.scenario import Scenario


@dataclass(frozen=True)
class CarSpec:
    """The car and its charger."""

    capacity_kwh: float = 60.0
    arrive: str = "18:00"
    leave: str = "07:30"
    arrive_soc: float = 0.3
    target_soc: float = 0.8
    efficiency: float = 0.9
    max_amps: int = 16
    phases: int = 3
    voltage: float = 230.0
    from_battery: bool = False

    @property
    def max_w(self) -> float:
        return self.max_amps * self.phases * self.voltage

    @property
    def min_w(self) -> float:
        return 6 * self.phases * self.voltage

    @property
    def nightly_kwh(self) -> float:
        """What the charger draws each night to take the car from arrival to target."""
        return (self.target_soc - self.arrive_soc) * self.capacity_kwh / self.efficiency

    def minute(self, text: str) -> int:
        hours, minutes = text.split(":")
        return int(hours) * 60 + int(minutes)

    def settings(self, port: int) -> dict[str, Any]:
        """The ``flexible_loads`` section that drives it on the simulated OpenEVSE."""
        return {
            "car": {
                "name": "Car",
                "adapter": "openevse",
                "host": "127.0.0.1",
                "port": port,
                "max_w": self.max_w,
                "min_w": self.min_w,
                "step_w": self.phases * self.voltage,
                "phases": self.phases,
                "voltage": self.voltage,
                "battery_kwh": self.capacity_kwh,
                "efficiency": self.efficiency,
                "assumed_soc": self.arrive_soc,
                "window": {"from": self.arrive, "to": self.leave},
                "target": {"soc": self.target_soc, "by": self.leave},
                "from_battery": self.from_battery,
            }
        }


def nights(scenario: Scenario, spec: CarSpec) -> list[list[int]]:
    """The slots of each night the car is home in the scenario and leaves within it: the
    one it starts in (the simulated car is home at the start, at ``arrive_soc``), then
    each from its arrival."""
    zone = ZoneInfo(scenario.timezone)
    step = scenario.slot_minutes * 60
    start = scenario.start.timestamp()
    arrive, leave = spec.minute(spec.arrive), spec.minute(spec.leave)
    found: list[list[int]] = []
    day = datetime.fromtimestamp(start, zone).date()
    end = start + scenario.n_slots * step
    local = datetime.fromtimestamp(start, zone)
    minute = local.hour * 60 + local.minute
    if minute < leave:  # home at the start: the rest of that night
        midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
        first_leave = (midnight + timedelta(minutes=leave)).timestamp()
        if first_leave <= end:
            found.append(list(range(0, math.floor((first_leave - start) / step))))
    while True:
        midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
        begin = (midnight + timedelta(minutes=arrive)).timestamp()
        finish = (midnight + timedelta(days=1, minutes=leave)).timestamp()
        if finish > end:
            return found
        if begin >= start:
            first = math.ceil((begin - start) / step)
            last = math.floor((finish - start) / step)
            found.append(list(range(first, last)))
        day += timedelta(days=1)


def on_arrival_w(scenario: Scenario, spec: CarSpec) -> list[float]:
    """The charger's average draw per slot when it runs at its most from arrival until
    the car is at its target."""
    step_h = scenario.slot_minutes / 60
    draw = [0.0] * scenario.n_slots
    for night in nights(scenario, spec):
        left = spec.nightly_kwh
        for slot in night:
            kwh = min(left, spec.max_w / 1000 * step_h)
            draw[slot] = kwh / step_h * 1000
            left -= kwh
            if left <= 1e-9:
                break
    return draw


def cheapest_hours_cost(
    scenario: Scenario, spec: CarSpec, house: dict[str, Any] | None = None
) -> tuple[float, float]:
    """($, kWh) of each night's energy bought in its cheapest slots at the charger's most.

    With ``house`` (the result of the same house with no car) the car fits under the
    grid connection beside what the house imports in each slot, as it must at home;
    without it, the charger's most in every slot."""
    step_h = scenario.slot_hours
    room = [spec.max_w] * scenario.n_slots
    if house is not None:
        limit = scenario.grid.max_import_w
        room = [
            max(0.0, min(spec.max_w, limit - slot["grid_import_wh"] / step_h))
            for slot in house["slots"]
        ]
    cost = energy = 0.0
    for night in nights(scenario, spec):
        left = spec.nightly_kwh
        for slot in sorted(night, key=lambda s: (scenario.import_price[s], s)):
            kwh = min(left, room[slot] / 1000 * step_h)
            cost += kwh * scenario.import_price[slot]
            energy += kwh
            left -= kwh
            if left <= 1e-9:
                break
    return cost, energy


def unfinished_night_cost(scenario: Scenario, result: dict[str, Any], spec: CarSpec) -> float:
    """$ of what the car drew for a morning after the scenario's end (its last evening),
    at the import price of each slot: no baseline buys that, so it is taken off."""
    last = max((i for night in nights(scenario, spec) for i in night), default=-1)
    return sum(
        float(slot.get("flexible_wh", 0.0)) / 1000.0 * scenario.import_price[i]
        for i, slot in enumerate(result["slots"])
        if i > last
    )


def departures_in(result: dict[str, Any]) -> list[tuple[str, float]]:
    """(ISO time, SOC) of each morning the car left, from a result's ``car``."""
    return [(str(at), float(soc)) for at, soc in (result.get("car") or {}).get("departures", [])]
