"""Everything one control tick looks at, read once, so every level is a pure function of it."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nodes.control.settings import ControlSettings
from nodes.core.wallclock import site_zone

#: Hysteresis latches a tick hands to the next one.
CRITICAL = "critical"
STORM_CHARGE = "storm_charge"


@dataclass(frozen=True)
class Situation:
    now: float
    telemetry: Mapping[str, Any]
    settings: Mapping[str, Any]
    options: ControlSettings
    plan: Mapping[str, Any] | None = None
    storm: Mapping[str, Any] | None = None
    override: Mapping[str, Any] | None = None
    health: Mapping[str, Any] | None = None
    prices: Mapping[str, Any] | None = None
    cost_basis: Mapping[str, Any] | None = None
    #: Which hysteresis latches were on after the last tick.
    latched: frozenset[str] = field(default_factory=frozenset)

    @property
    def soc(self) -> float:
        """SOC now; NaN when the reading is missing or nonsense (safety hands back)."""
        return _number(self.telemetry.get("soc"), math.nan)

    @property
    def fine_soc(self) -> float:
        """SOC now from the BMS's remaining energy (0.01 kWh steps) when it agrees with the
        1 %-step SOC register (as the plan reads it), else the register's."""
        soc = self.soc
        energy = self.telemetry.get("battery_energy_kwh")
        capacity = self.options.capacity_kwh
        if isinstance(energy, int | float) and not isinstance(energy, bool) and capacity > 0:
            fine = energy / capacity
            if abs(fine - soc) <= 0.011:  # finer, and the same reading
                return fine
        return soc

    @property
    def pv_w(self) -> float:
        return max(0.0, _number(self.telemetry.get("pv_w"), 0.0))

    @property
    def load_w(self) -> float:
        return max(0.0, _number(self.telemetry.get("load_w"), 0.0))

    @property
    def health_state(self) -> str:
        state = (self.health or {}).get("state", "ok")
        return state if state in ("ok", "degraded", "safety") else "ok"

    @property
    def health_reason(self) -> str:
        health = self.health or {}
        reasons = health.get("reasons")
        if isinstance(reasons, list | tuple) and reasons:
            return "; ".join(str(r) for r in reasons)
        return str(health.get("reason") or health.get("state", "ok"))

    @property
    def degraded(self) -> bool:
        return self.health_state == "degraded"

    def local(self, epoch: float) -> str:
        """``epoch`` as the site's wall time, for reasons people read."""
        when = datetime.fromtimestamp(epoch, site_zone(self.options.timezone))
        if abs(epoch - self.now) < 20 * 3600:
            return when.strftime("%H:%M")
        return when.strftime("%a %H:%M")


def _number(value: Any, default: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return float(value) if math.isfinite(value) else default
