"""Flexible loads in the plan: a power per slot, chosen by the plan, towards an energy target.

Each load (``inputs.FlexibleLoad``) adds a column per slot of its window (kW, 0 to its
``max_w``), a shortfall column (kWh, costed at its price) and one row: energy delivered
plus shortfall equals the target. A car needing 21 kWh by 07:30 is then charged in the
cheapest slots (or from the sun) without a binary in sight: the model stays an LP.

Where the energy may come from is one row per slot, on the flows the inverter meters:

- solar-only loads: their power + pv_curtail <= PV - house load (none without a surplus),
  as the inverter serves the house from PV first; and grid_to_load + batt_to_load <= house
  load + the other loads' power: the grid and the battery serve everything but them.
- loads kept off the battery: batt_to_load <= house load + the power of the loads that may
  draw on it. The battery serves the house; the car runs from PV or the grid.
"""

from __future__ import annotations

from dataclasses import dataclass

from nodes.planning.inputs import FlexibleLoad, PlanInputs
from nodes.planning.linear import LinearModel

# $ per kWh per slot of lateness, scaled by priority: among equal-cost plans a car is
# charged early (a plan that later finds a cheaper slot can still move it).
_TIE_LATE = 1e-5


@dataclass
class FlexColumns:
    """One placed load: its power column (kW) per slot of its window and its shortfall."""

    load: FlexibleLoad
    power: dict[int, int]
    short: int


def add_flexible_loads(
    lm: LinearModel,
    inp: PlanInputs,
    grid_to_load: list[int],
    batt_to_load: list[int],
    pv_curtail: list[int],
    extra: list[list[tuple[int, float]]],
) -> list[FlexColumns]:
    """Place ``inp.flexible``: add their columns and rows, and their power to ``extra``.

    ``extra[t]`` holds the other added loads of slot t as (column, -kW per unit) terms of
    the load balance (the deferrable relays); the flexible loads' terms are appended to it.
    """
    n, h = inp.n_slots, inp.slot_hours
    others = [list(terms) for terms in extra]  # relays: they may use grid and battery
    placed: list[FlexColumns] = []
    for f in inp.flexible:
        first, last = f.window
        power = {}
        for t in range(first, last + 1):
            late = _TIE_LATE * (1 + f.priority) * h * t / n
            most = f.max_w / 1000.0 * (f.first_share if t == first else 1.0)
            power[t] = lm.var(f"flex_{f.name}_{t}", 0.0, most, late)
            extra[t].append((power[t], -1.0))
        short = lm.var(f"flex_short_{f.name}", 0.0, f.energy_kwh, f.price)
        lm.row(
            f"flex_energy_{f.name}",
            [*((col, h) for col in power.values()), (short, 1.0)],
            f.energy_kwh,
            f.energy_kwh,
        )
        placed.append(FlexColumns(f, power, short))
    for t in range(n):
        running = [c for c in placed if t in c.power]
        if not running:
            continue
        load, pv = inp.load_w[t] / 1000.0, inp.pv_w[t] / 1000.0
        grid_and_battery = [(c.power[t], -1.0) for c in running if not c.load.solar_only]
        solar = [c.power[t] for c in running if c.load.solar_only]
        if solar:
            if pv <= load:
                for col in solar:
                    lm.ub[col] = 0.0
            else:
                lm.row(
                    f"flex_surplus_{t}",
                    [*((col, 1.0) for col in solar), (pv_curtail[t], 1.0)],
                    ub=pv - load,
                )
            lm.row(
                f"flex_solar_only_{t}",
                [(grid_to_load[t], 1.0), (batt_to_load[t], 1.0), *others[t], *grid_and_battery],
                ub=load,
            )
        if any(not c.load.from_battery and not c.load.solar_only for c in running):
            battery_fed = [
                (c.power[t], -1.0) for c in running if c.load.from_battery and not c.load.solar_only
            ]
            lm.row(
                f"flex_off_battery_{t}",
                [(batt_to_load[t], 1.0), *others[t], *battery_fed],
                ub=load,
            )
    return placed
