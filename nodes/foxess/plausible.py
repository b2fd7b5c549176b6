"""What a KH can physically report, so nonsense never passes for telemetry.

A flaky gateway, a wrong register map or a firmware bug can hand back words
that decode fine and mean nothing (SOC 250 %, a 32 kW battery). Control must
never act on those: the client rejects such a reading as an error instead.
The bounds are physical, not the site's configured limits (a battery set to
3 kW in the site config may still run at its hardware rating in self-use).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class TelemetryLimits:
    """Largest magnitudes a reading may show; defaults sit far above any KH (<= 10.5 kW)."""

    battery_w: float = 21_000.0  # twice the largest KH's rating
    pv_w: float = 30_000.0  # the KH's four strings, with room to spare
    site_w: float = 60_000.0  # load and grid: a 250 A single-phase supply
    temp_c: tuple[float, float] = (-40.0, 150.0)
    battery_voltage_v: float = 1000.0

    @classmethod
    def for_site(cls, settings: Mapping[str, Any]) -> TelemetryLimits:
        """The defaults, widened where the site config declares bigger hardware."""
        battery = settings.get("battery") or {}
        grid = settings.get("grid") or {}
        rated = max(battery.get("max_charge_w", 0), battery.get("max_discharge_w", 0))
        supply = max(grid.get("max_import_w", 0), grid.get("max_export_w", 0))
        base = cls()
        return cls(
            battery_w=max(base.battery_w, 2 * rated),
            site_w=max(base.site_w, 2 * (supply + rated)),
        )


def implausible(reading: Mapping[str, Any], limits: TelemetryLimits) -> list[str]:
    """Every value of ``reading`` (telemetry in internal units) that no KH could report;
    a battery value that is None (the BMS not connected) is unknown, not implausible."""
    problems: list[str] = []
    soc_pct = reading["soc_pct"]
    if soc_pct is not None and not 0 <= soc_pct <= 100:
        problems.append(f"SOC {soc_pct:g} % (31024)")
    bounds = {
        "battery_w": limits.battery_w,
        "pv_w": limits.pv_w,
        "load_w": limits.site_w,
        "grid_w": limits.site_w,
    }
    for name, bound in bounds.items():
        if reading[name] is not None and abs(reading[name]) > bound:
            problems.append(f"{name} {reading[name]:.0f} W beyond {bound:.0f} W")
    low, high = limits.temp_c
    for name in ("battery_temp_c", "inverter_temp_c"):
        if reading[name] is not None and not low <= reading[name] <= high:
            problems.append(f"{name} {reading[name]:g} °C")
    volts = reading["battery_voltage_v"]
    if not 0 <= volts <= limits.battery_voltage_v:
        problems.append(f"battery voltage {volts:g} V")
    return problems
