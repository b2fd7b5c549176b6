"""The power a flexible load is set to now: the plan's, the sun's, within the device's limits.

Pure: the control node (nodes.flexible.control) reads the device and the meter, and
this decides. In order:

1. No car plugged in, its target reached, or outside its window: off.
2. No plan for this slot: a load that still needs energy runs at its most (a car is
   ready by its deadline even when planning has failed), solar-only loads excepted.
3. The plan's power for the slot, raised by sun the plan did not expect: what the site
   exports beyond the plan's export for the slot (no more than the PV now: a battery's
   export is no sun) goes to the load before the grid, when that is enough to run it.
   In the last hour before a hard target's deadline it runs at least at the pace that
   still meets it (what steps and late ticks lost is made up before the car leaves).
4. Solar-only: never more than the PV surplus now (what it draws plus the export, less
   any import).
5. Below the device's minimum: run at the minimum until the slot's share is drawn, then
   off (a duty cycle, as the plan assumed). Then down to the device's step, up to its
   maximum, and rising no faster than its ramp.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from nodes.flexible.settings import FlexConfig

#: Less than this (W, a slot's average) is not worth starting a charger for.
CRUMB_W = 50.0
#: In its last hour a hard target runs at least at the pace that still meets it.
CATCH_UP_H = 1.0


@dataclass(frozen=True, slots=True)
class FlexTick:
    """What the node knows this run about the slot, the plan and the meter."""

    now: float
    slot_label: str  # the slot, for reasons: "18:30 slot at 21.5c"
    planned_w: float | None  # the plan's average for the load this slot (None: no plan)
    planned_export_w: float = 0.0  # what the plan exports this slot
    grid_w: float | None = None  # the meter now, + importing (None: unknown)
    needed_kwh: float | None = None  # still to draw by its deadline (None: unknown)
    slot_kwh: float = 0.0  # drawn so far in this slot (since the plan, if made in it)
    slot_energy_kwh: float | None = None  # the plan's energy for the rest of this slot
    slot_s: float = 1800.0
    in_window: bool = True
    pv_w: float | None = None  # the PV now (None: unknown)
    hours_left: float | None = None  # until its deadline (or its window closes)


@dataclass(frozen=True, slots=True)
class FlexDecision:
    setpoint_w: float
    reason: str


def decide(
    config: FlexConfig,
    tick: FlexTick,
    power_w: float | None,
    plugged: bool | None,
    last_setpoint_w: float = 0.0,
    minutes_since_set: float = math.inf,
) -> FlexDecision:
    """The setpoint for ``config``'s device now (see the module docstring)."""
    if plugged is False:
        return FlexDecision(0.0, "no car plugged in")
    if tick.needed_kwh is not None and tick.needed_kwh <= 1e-3:
        return FlexDecision(0.0, "target reached")
    if not tick.in_window:
        return FlexDecision(0.0, "outside its window")
    drawing = max(0.0, power_w or 0.0)
    importing = max(0.0, tick.grid_w or 0.0)
    exporting = max(0.0, -(tick.grid_w or 0.0))
    if tick.planned_w is None:
        if config.solar_only:
            return FlexDecision(0.0, "no plan for this slot")
        want, why = config.max_w, "no plan for this slot: charging at its most to be ready"
    else:
        want, why = tick.planned_w, f"plan: {tick.planned_w:.0f} W in the {tick.slot_label}"
        spare = exporting - tick.planned_export_w - importing
        if tick.pv_w is not None:  # export from the battery is no sun
            spare = min(spare, max(0.0, tick.pv_w))
        if tick.grid_w is not None and spare > 1.0 and max(config.min_w, want) <= drawing + spare:
            want = drawing + spare
            why += f"; {spare:.0f} W more sun than planned goes here, not to the grid"
    behind = _catching_up(config, tick)
    if behind > want:  # short of a hard target's pace: what still meets the deadline
        want = behind
        why += f"; {tick.needed_kwh:.1f} kWh still to go in {tick.hours_left:.2f} h: {want:.0f} W"
    if config.solar_only:
        if tick.grid_w is None:
            return FlexDecision(0.0, "solar only, and no meter reading to see the surplus")
        surplus = drawing + exporting - importing
        if surplus < want:
            want = max(0.0, surplus)
            why += f"; solar only: {want:.0f} W of PV surplus now"
    want = min(want, config.max_w)
    if want < CRUMB_W:  # a plan's crumb: too little to start a charger for
        return FlexDecision(0.0, why)
    if want < config.min_w:
        if config.solar_only:
            return FlexDecision(0.0, f"{why}; under its {config.min_w:.0f} W minimum")
        share_kwh = want / 1000.0 * tick.slot_s / 3600.0
        if tick.slot_energy_kwh is not None and want <= (tick.planned_w or 0.0) + 1e-6:
            share_kwh = tick.slot_energy_kwh  # what the plan gives the rest of the slot
        if tick.slot_kwh >= share_kwh - 1e-6:
            return FlexDecision(0.0, f"{why}; this slot's {share_kwh:.2f} kWh is drawn")
        want = config.min_w
        why += f"; at its {config.min_w:.0f} W minimum until {share_kwh:.2f} kWh is drawn"
    if config.step_w > 0:
        want = max(config.min_w, math.floor(want / config.step_w + 1e-9) * config.step_w)
    if config.ramp_w_per_min is not None and want > last_setpoint_w:
        ceiling = max(config.min_w, last_setpoint_w + config.ramp_w_per_min * minutes_since_set)
        if want > ceiling:
            want = ceiling
            why += f"; ramping up {config.ramp_w_per_min:.0f} W a minute"
    return FlexDecision(round(want, 1), why)


def _catching_up(config: FlexConfig, tick: FlexTick) -> float:
    """The power (W) a hard target needs from now to be met by its deadline, when the
    last hour has come: what the plan's slots could not quite give (steps, a late
    tick, a SOC read low) is made up before the car leaves. 0 otherwise."""
    if not config.target.hard or tick.needed_kwh is None or tick.hours_left is None:
        return 0.0
    if not 0 < tick.hours_left <= CATCH_UP_H or tick.needed_kwh <= 1e-3:
        return 0.0
    return min(config.max_w, tick.needed_kwh * 1000.0 / tick.hours_left)
