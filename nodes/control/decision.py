"""Decisions and the hard limits no decision may cross.

``enforce_limits`` is the last word before any command reaches the inverter:
whatever the plan, a forecast, the UI or a bug upstream asks for, the command
that leaves it keeps the battery inside its hard SOC limits, its power limits
and the grid's limits. It only ever makes a command safer.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

MODES = ("self_use", "self_use_zero_export", "force_charge", "force_discharge", "hold")
FORCING = ("force_charge", "force_discharge")


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


@dataclass(frozen=True, slots=True)
class Decision:
    mode: str
    power_w: float
    level: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def enforce_limits(
    wanted: Decision, soc: float, pv_w: float, load_w: float, limits: Limits
) -> Decision:
    """The safe version of ``wanted``: same or less forcing, never more."""
    if wanted.mode not in MODES:
        return Decision("self_use", 0.0, "safety", f"unknown mode {wanted.mode!r}: self-use")
    if wanted.mode not in FORCING:
        return Decision(wanted.mode, 0.0, wanted.level, wanted.reason)
    power = wanted.power_w if wanted.power_w == wanted.power_w else 0.0  # NaN -> 0
    pv = max(0.0, pv_w) if pv_w == pv_w else 0.0
    load = max(0.0, load_w) if load_w == load_w else 0.0
    if wanted.mode == "force_charge":
        if soc >= limits.soc_max - limits.soc_margin:
            return Decision(
                "self_use",
                0.0,
                "safety",
                f"battery full ({soc:.0%} >= {limits.soc_max - limits.soc_margin:.0%}):"
                " charging stopped",
            )
        # Grid import while charging is load + |P| - pv: keep it inside the import limit.
        ceiling = min(limits.max_charge_w, limits.max_import_w - load + pv)
    else:
        if soc <= limits.soc_min + limits.soc_margin:
            return Decision(
                "self_use",
                0.0,
                "safety",
                f"battery at its floor ({soc:.0%} <= "
                f"{limits.soc_min + limits.soc_margin:.0%}): discharge stopped",
            )
        # AC output P: export is P - load; the battery gives P - pv at most max_discharge.
        ceiling = min(limits.max_discharge_w, limits.max_export_w + load)
    ceiling = max(0.0, ceiling)
    clamped = min(max(0.0, power), ceiling)
    if clamped < power:
        return Decision(
            wanted.mode,
            clamped,
            wanted.level,
            f"{wanted.reason} (power capped at {clamped:.0f} W by limits)",
        )
    return Decision(wanted.mode, clamped, wanted.level, wanted.reason)
