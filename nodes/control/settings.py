"""The control tick's own settings (site config ``control:``), read once with their defaults.

``merge_defaults`` fills sections, not nested keys, so every nested default is
applied here too: a site that sets only ``opportunistic: {enabled: false}``
still gets the default cost basis.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flowengine.durations import parse_duration
from nodes.control.decision import MODES
from nodes.control.schedule import Rule, parse_rules

DEFAULT_MIN_HOLD = "10m"
#: How far above soc_min the critical floor sits when control.critical_soc is not set:
#: none, so the plan may use the whole range it is allowed (set one to keep a backup).
CRITICAL_ABOVE_SOC_MIN = 0.0


@dataclass(frozen=True, slots=True)
class ControlSettings:
    soc_min: float
    soc_max: float
    capacity_kwh: float
    max_charge_w: float
    max_discharge_w: float
    soc_margin: float
    critical_soc: float
    soc_hysteresis: float
    degraded_soc_margin: float
    #: Seconds each mode must stay in force before another may replace it.
    min_hold_s: Mapping[str, float]
    max_mode_changes: int
    mode_change_window_s: float
    opportunistic: bool
    default_cost_basis: float
    #: $/kWh an export price must reach to count as a spike worth selling into.
    spike_export_price: float
    break_even_delta: float
    timezone: str
    schedule: tuple[Rule, ...] = field(default=())
    #: Stored energy out per AC energy delivered: how fast a discharge runs down the SOC.
    discharge_efficiency: float = 1.0

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> ControlSettings:
        battery = settings["battery"]
        control = settings.get("control", {})
        planner = settings.get("planner", {})
        opportunistic = control.get("opportunistic", {})
        return cls(
            soc_min=float(battery["soc_min"]),
            soc_max=float(battery["soc_max"]),
            capacity_kwh=float(battery.get("capacity_kwh", 10.0)),
            max_charge_w=float(battery["max_charge_w"]),
            max_discharge_w=float(battery["max_discharge_w"]),
            soc_margin=float(control.get("soc_margin", 0.02)),
            critical_soc=float(
                control.get("critical_soc", battery["soc_min"] + CRITICAL_ABOVE_SOC_MIN)
            ),
            soc_hysteresis=float(control.get("soc_hysteresis", 0.02)),
            degraded_soc_margin=float(control.get("degraded_soc_margin", 0.05)),
            min_hold_s=min_hold_seconds(control.get("min_hold", DEFAULT_MIN_HOLD)),
            max_mode_changes=int(control.get("max_mode_changes", 6)),
            mode_change_window_s=parse_duration(control.get("mode_change_window", "1h")),
            # Selling stored energy into the grid is arbitrage: off when the planner's is.
            opportunistic=bool(opportunistic.get("enabled", True))
            and bool(planner.get("arbitrage_export", True)),
            default_cost_basis=float(opportunistic.get("default_cost_basis", 0.10)),
            spike_export_price=float(opportunistic.get("spike_export_price", 0.50)),
            break_even_delta=float(planner.get("break_even_delta", 0.02)),
            timezone=str(settings.get("site", {}).get("timezone", "UTC")),
            schedule=parse_rules(control.get("schedule", [])),
            discharge_efficiency=float(battery.get("discharge_efficiency", 1.0)),
        )

    def min_hold_for(self, mode: str) -> float:
        return self.min_hold_s.get(mode, parse_duration(DEFAULT_MIN_HOLD))


def min_hold_seconds(value: Any) -> dict[str, float]:
    """``10m`` for every mode, or ``{force_discharge: 30m, ...}`` (modes not named: 10m)."""
    if isinstance(value, Mapping):
        default = parse_duration(DEFAULT_MIN_HOLD)
        return {mode: parse_duration(value.get(mode, default)) for mode in MODES}
    seconds = parse_duration(value)
    return dict.fromkeys(MODES, seconds)
