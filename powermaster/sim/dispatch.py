"""How a KH inverter splits power at one instant, as a pure function.

Kept apart from the time integration (``site.py``) so the rules can be read
and tested on their own. Internal signs (protocols.md §0): ``battery_w`` + =
charging, ``grid_w`` + = importing, ``ac_out_w`` + = inverter AC output.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class WorkMode(IntEnum):
    """Register 41000 values the KH accepts (modes 3/4 are not offered)."""

    SELF_USE = 0
    FEED_IN_FIRST = 1
    BACK_UP = 2


@dataclass(frozen=True, slots=True)
class Limits:
    """What the battery and grid can take right now (all W, all >= 0)."""

    charge_w: float
    discharge_w: float
    import_w: float
    export_w: float


@dataclass(frozen=True, slots=True)
class Flows:
    """One instant's power flows; they always balance."""

    pv_w: float
    pv_used_w: float
    load_w: float
    load_served_w: float
    battery_w: float
    grid_w: float

    @property
    def curtailed_w(self) -> float:
        return self.pv_w - self.pv_used_w

    @property
    def shed_w(self) -> float:
        return self.load_w - self.load_served_w

    @property
    def charge_w(self) -> float:
        return max(0.0, self.battery_w)

    @property
    def discharge_w(self) -> float:
        return max(0.0, -self.battery_w)

    @property
    def import_w(self) -> float:
        return max(0.0, self.grid_w)

    @property
    def export_w(self) -> float:
        return max(0.0, -self.grid_w)

    @property
    def ac_out_w(self) -> float:
        """Inverter AC-port power, + = output (what 44002 commands)."""
        return self.pv_used_w - self.battery_w


def dispatch(
    pv_w: float,
    load_w: float,
    limits: Limits,
    mode: WorkMode | None,
    setpoint_w: float = 0.0,
) -> Flows:
    """Split power for a work mode, or for remote control when ``mode`` is None."""
    pv_w, load_w = max(0.0, pv_w), max(0.0, load_w)
    surplus = pv_w - load_w
    pv_used = pv_w
    if mode is None:
        battery = _clamp(pv_w - setpoint_w, -limits.discharge_w, limits.charge_w)
        pv_used = min(pv_w, max(0.0, setpoint_w + battery))
    elif surplus >= 0:
        if mode is WorkMode.FEED_IN_FIRST:
            rest = surplus - min(surplus, limits.export_w)
            battery = min(rest, limits.charge_w)
            pv_used = pv_w - (rest - battery)
        else:
            battery = min(surplus, limits.charge_w)
    elif mode is WorkMode.BACK_UP:
        battery = 0.0
    else:
        battery = -min(-surplus, limits.discharge_w)
    return _hold_grid_limits(pv_w, load_w, pv_used, battery, limits)


def _hold_grid_limits(
    pv_w: float, load_w: float, pv_used: float, battery: float, limits: Limits
) -> Flows:
    """Move the AC output into the grid limits; shed load only as a last resort."""
    ac_out = pv_used - battery
    high = load_w + limits.export_w
    low = load_w - limits.import_w
    shed = 0.0
    if ac_out > high:
        excess = ac_out - high
        step = min(excess, max(0.0, -battery))  # discharge less
        battery, excess = battery + step, excess - step
        step = min(excess, max(0.0, limits.charge_w - battery))  # charge more
        battery, excess = battery + step, excess - step
        step = min(excess, pv_used)  # curtail PV
        pv_used -= step
    elif ac_out < low:
        need = low - ac_out
        step = min(need, pv_w - pv_used)  # give back curtailed PV
        pv_used, need = pv_used + step, need - step
        step = min(need, max(0.0, battery))  # charge less
        battery, need = battery - step, need - step
        step = min(need, max(0.0, limits.discharge_w + battery))  # discharge more
        battery, need = battery - step, need - step
        shed = min(need, load_w)
    served = load_w - shed
    grid = served - (pv_used - battery)
    return Flows(pv_w, pv_used, load_w, served, battery, grid)


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))
