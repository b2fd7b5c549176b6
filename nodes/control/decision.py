"""Decisions, the hard limits no decision may cross, and the command that results.

``enforce_limits`` is the last word before any command reaches the inverter:
whatever the plan, a forecast, the UI or a bug upstream asks for, the command
that leaves it keeps the battery inside its hard SOC limits and power limits,
and the grid inside its import and export limits where the battery can do that.
It only ever makes a command safer.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

MODES = ("self_use", "self_use_zero_export", "force_charge", "force_discharge", "hold")
#: Modes the inverter runs by itself; every other mode holds an exact battery power.
INVERTER_LED = ("self_use", "self_use_zero_export")


@dataclass(frozen=True, slots=True)
class Limits:
    soc_min: float
    soc_max: float
    soc_margin: float
    max_charge_w: float
    max_discharge_w: float
    max_import_w: float
    max_export_w: float

    @classmethod
    def from_settings(cls, settings: Any) -> Limits:
        battery, grid = settings["battery"], settings["grid"]
        return cls(
            soc_min=battery["soc_min"],
            soc_max=battery["soc_max"],
            soc_margin=settings.get("control", {}).get("soc_margin", 0.02),
            max_charge_w=battery["max_charge_w"],
            max_discharge_w=battery["max_discharge_w"],
            max_import_w=grid["max_import_w"],
            max_export_w=grid["max_export_w"],
        )

    def with_extra_margin(self, margin: float) -> Limits:
        """Stricter SOC limits (health degraded): further from soc_min and soc_max."""
        return replace(self, soc_margin=self.soc_margin + max(0.0, _finite(margin)))


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do this tick, who decided it and why.

    ``battery_w`` is the net battery power to hold (+ = charging) for the modes
    that hold one; ``None`` means "as the mode's power says" (force_charge at
    ``power_w`` charges at that power, force_discharge discharges, hold idles).
    """

    mode: str
    power_w: float
    level: str
    reason: str
    battery_w: float | None = None
    #: A lower export limit than the grid's for this decision (a schedule rule's).
    export_limit_w: float | None = None
    #: When a forced mode must end by itself (epoch seconds): a discharge that reaches a
    #: floor then. The command sets the inverter's watchdog (44001) so that it hands back
    #: to its own work mode, which holds the floor (41011), then at the latest.
    until: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def target_w(self) -> float:
        """The net battery power this decision asks for (+ = charging)."""
        if self.battery_w is not None:
            return self.battery_w
        if self.mode == "force_charge":
            return abs(self.power_w)
        if self.mode == "force_discharge":
            return -abs(self.power_w)
        return 0.0


def _finite(value: float, default: float = 0.0) -> float:
    return value if isinstance(value, int | float) and math.isfinite(value) else default


def enforce_limits(
    wanted: Decision,
    soc: float,
    pv_w: float,
    load_w: float,
    limits: Limits,
    floor: float | None = None,
) -> Decision:
    """The safe version of ``wanted``: never more forcing, and inside every hard limit.

    ``floor`` raises the SOC the battery may not be discharged at or below (a storm
    reserve, the critical SOC) over ``soc_min`` plus the margin.
    """
    if wanted.mode not in MODES:
        # Through the inverter-led rule, so no export allowed makes it zero-export: plain
        # self-use would export and, recorded as the mode in force, the next tick's kept
        # self-use would be renamed after anti-oscillation (a change inside the hold).
        reason = f"unknown mode {wanted.mode!r}: self-use"
        unknown = Decision("self_use", 0.0, "safety", reason, None, wanted.export_limit_w)
        return enforce_limits(unknown, soc, pv_w, load_w, limits, floor)
    export_cap = _export_cap(wanted, limits)
    if wanted.mode in INVERTER_LED:
        mode = "self_use_zero_export" if export_cap <= 0 else wanted.mode
        return Decision(mode, 0.0, wanted.level, wanted.reason, None, wanted.export_limit_w)
    pv, load = max(0.0, _finite(pv_w)), max(0.0, _finite(load_w))
    target = _finite(wanted.target_w())
    top = limits.soc_max - limits.soc_margin
    bottom = max(limits.soc_min + limits.soc_margin, _finite(floor or 0.0))
    if target > 0 and soc >= top:
        # Hold rather than self-use: a plan that curtails PV (importing pays) keeps doing so.
        reason = f"battery full ({soc:.0%} >= {top:.0%}): charging stopped"
        held = Decision("hold", 0.0, "safety", reason, 0.0)
        return enforce_limits(held, soc, pv, load, limits, floor)
    if target < 0 and soc <= bottom:
        if wanted.mode == "force_discharge":
            # Through the inverter-led rule, so no export allowed makes it zero-export.
            reason = f"battery at its floor ({soc:.0%} <= {bottom:.0%}): discharge stopped"
            stopped = Decision("self_use", 0.0, "safety", reason, None, wanted.export_limit_w)
            return enforce_limits(stopped, soc, pv, load, limits, floor)
        target = 0.0
    # Grid: import = load - pv + battery, export = pv - load - battery.
    high = min(limits.max_charge_w, limits.max_import_w - load + pv)
    low = max(-limits.max_discharge_w, pv - load - export_cap)
    bounded = min(max(target, low), high)
    # The battery's own limits win over the grid's: never below the floor or above the top.
    bounded = min(max(bounded, -limits.max_discharge_w), limits.max_charge_w)
    if soc <= bottom:
        bounded = max(bounded, 0.0)
    if soc >= top:
        bounded = min(bounded, 0.0)
    reason = wanted.reason
    if abs(bounded - target) > 0.5:
        reason = f"{reason} (battery power capped at {bounded:.0f} W by limits)"
    until = wanted.until if bounded < 0 else None  # an end only a discharge needs
    return replace(wanted, power_w=abs(bounded), battery_w=bounded, reason=reason, until=until)


def _export_cap(wanted: Decision, limits: Limits) -> float:
    cap = limits.max_export_w
    if wanted.export_limit_w is not None and math.isfinite(wanted.export_limit_w):
        cap = min(cap, max(0.0, wanted.export_limit_w))
    return cap


def inverter_command(
    decision: Decision,
    pv_w: float,
    min_soc: float | None = None,
    curtailing: bool = False,
    max_charge_w: float | None = None,
) -> dict[str, Any]:
    """The ``foxess.command`` payload: an exact AC setpoint (pv - battery) when held.

    ``min_soc`` (a fraction) is the floor the inverter's own minimum-SOC setting
    should hold, so its self-use keeps a storm reserve even if we fall silent.
    ``curtailing``: the setpoint leaves PV unused on purpose. A KH does that only while
    the battery charges at its limit, so a battery power below ``max_charge_w`` (a hold
    too) goes out as the charge limit as well (``charge_limit_w``: 41007). A forced mode's
    ``until`` goes out as it is: the inverter's watchdog ends it then.
    """
    command: dict[str, Any] = {"mode": decision.mode, "power_w": decision.power_w}
    if decision.mode not in INVERTER_LED:
        target = decision.target_w()
        setpoint = max(0.0, _finite(pv_w)) - target
        command["setpoint_w"] = round(setpoint)
        command["power_w"] = abs(round(setpoint))
        below_limit = max_charge_w is None or target < max_charge_w - 0.5
        if curtailing and target >= 0 and below_limit:
            command["charge_limit_w"] = round(max(0.0, _finite(target)))
        if decision.until is not None and math.isfinite(decision.until):
            command["until"] = decision.until
    if decision.export_limit_w is not None:
        command["export_limit_w"] = round(max(0.0, _finite(decision.export_limit_w)))
    if min_soc is not None:
        # Whole percent (the register's step), rounded up: never below the floor asked for.
        percent = math.ceil(round(min(1.0, max(0.0, _finite(min_soc))) * 100, 6))
        command["min_soc"] = percent / 100
    return command
