"""Turn solved flows into controller modes and one-line human reasons."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from nodes.planning.inputs import Mode

EPS_W = 10.0  # flows below this are solver noise, not decisions


@dataclass(frozen=True)
class SlotFlows:
    """Solved AC-side flows for one slot, in W."""

    grid_to_batt: float
    batt_to_grid: float
    batt_to_load: float
    grid_to_load: float
    pv_to_grid: float
    pv_curtail: float
    charge: float
    discharge: float


def derive_mode(f: SlotFlows, export_price: float) -> tuple[Mode, float]:
    """Mode and AC setpoint: grid charging wins, then battery export, then zero-export."""
    if f.grid_to_batt > EPS_W:
        return "force_charge", f.grid_to_batt
    if f.batt_to_grid > EPS_W:
        return "force_discharge", f.batt_to_grid + f.batt_to_load
    if export_price < 0 and f.pv_to_grid + f.batt_to_grid <= EPS_W:
        return "self_use_zero_export", 0.0
    return "self_use", 0.0


def _c(price: float) -> str:
    return f"{price * 100:.1f}c"


def reason(
    t: int,
    mode: Mode,
    flows: Sequence[SlotFlows],
    import_price: Sequence[float],
    export_price: Sequence[float],
    starts: Sequence[datetime],
    tz: ZoneInfo,
    soc_above_min: bool,
) -> str:
    """Short why-text; names the later peak a grid charge is aimed at."""
    f = flows[t]
    if mode == "force_charge":
        if import_price[t] < 0:
            return f"charge from grid at {_c(import_price[t])}: paid to import"
        later = [u for u in range(t + 1, len(flows)) if flows[u].discharge > EPS_W]
        later = later or list(range(t + 1, len(flows)))
        if not later:
            return f"charge from grid at {_c(import_price[t])}: stored for after the horizon"
        peak = max(later, key=lambda u: import_price[u])
        at = starts[peak].astimezone(tz).strftime("%H:%M")
        return (
            f"charge from grid at {_c(import_price[t])}: cheaper than the "
            f"{_c(import_price[peak])} peak at {at}"
        )
    if mode == "force_discharge":
        spike = export_price[t] >= 2 * max(statistics.median(import_price), 0.01)
        return f"export stored energy at {_c(export_price[t])}{' spike' if spike else ''}"
    if mode == "self_use_zero_export":
        what = "curtail PV" if f.pv_curtail > EPS_W else "self-consume"
        return f"zero export: feed-in {_c(export_price[t])} ({what})"
    if f.pv_curtail > EPS_W:
        return f"self-use, {f.pv_curtail:.0f} W PV curtailed (export limit)"
    if f.grid_to_load > EPS_W and f.discharge <= EPS_W and f.charge <= EPS_W and soc_above_min:
        return "self-use; battery held for later (grid covers load)"
    return "self-use"
