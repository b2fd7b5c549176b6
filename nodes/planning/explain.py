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
    """Solved AC-side flows for one slot, in W, plus what self-use would do with the battery."""

    grid_to_batt: float
    batt_to_grid: float
    batt_to_load: float
    grid_to_load: float
    pv_to_grid: float
    pv_curtail: float
    charge: float
    discharge: float
    selfuse_battery_w: float = 0.0

    @property
    def battery_w(self) -> float:
        """Planned net battery power, + = charging."""
        return self.charge - self.discharge


def selfuse_battery_w(
    pv_w: float,
    load_w: float,
    max_charge_w: float,
    max_discharge_w: float,
    room_kwh: float,
    stored_kwh: float,
    charge_efficiency: float,
    discharge_efficiency: float,
    slot_hours: float,
) -> float:
    """The inverter's Self Use battery power for a slot: clamp(pv - load) to the power limits
    and to what the SOC at slot start allows (room_kwh below soc_max, stored_kwh above soc_min).
    """
    charge_cap = min(max_charge_w, max(0.0, room_kwh) * 1000 / charge_efficiency / slot_hours)
    discharge_cap = min(
        max_discharge_w, max(0.0, stored_kwh) * 1000 * discharge_efficiency / slot_hours
    )
    return max(-discharge_cap, min(charge_cap, pv_w - load_w))


def derive_mode(f: SlotFlows, export_price: float) -> tuple[Mode, float]:
    """Mode and AC setpoint magnitude (W).

    Grid charging wins, then battery export; a battery doing what self-use would is
    self-use (zero-export when feed-in is negative and nothing is exported); anything else
    is "hold": the controller commands battery_w exactly.
    """
    if f.grid_to_batt > EPS_W:
        return "force_charge", f.grid_to_batt
    if f.batt_to_grid > EPS_W:
        return "force_discharge", f.batt_to_grid + f.batt_to_load
    if abs(f.battery_w - f.selfuse_battery_w) <= EPS_W:
        if export_price < 0 and f.pv_to_grid + f.batt_to_grid <= EPS_W:
            return "self_use_zero_export", 0.0
        return "self_use", 0.0
    return "hold", abs(f.battery_w)


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
    kept_kwh: float = 0.0,
) -> str:
    """Short why-text; names the later peak a grid charge or a hold is aimed at.

    kept_kwh: stored energy above soc_min at slot end (what a hold keeps).
    """
    f = flows[t]
    if mode == "force_charge":
        if import_price[t] < 0:
            return f"charge from grid at {_c(import_price[t])}: paid to import"
        target = _later_peak(t, flows, import_price, export_price, starts, tz)
        if target is None:
            return f"charge from grid at {_c(import_price[t])}: stored for after the horizon"
        return f"charge from grid at {_c(import_price[t])}: cheaper than the {target}"
    if mode == "force_discharge":
        spike = export_price[t] >= 2 * max(statistics.median(import_price), 0.01)
        return f"export stored energy at {_c(export_price[t])}{' spike' if spike else ''}"
    if mode == "hold":
        return _hold_reason(t, flows, import_price, export_price, starts, tz, kept_kwh)
    if mode == "self_use_zero_export":
        what = "curtail PV" if f.pv_curtail > EPS_W else "self-consume"
        return f"zero export: feed-in {_c(export_price[t])} ({what})"
    if f.pv_curtail > EPS_W:
        return f"self-use, {f.pv_curtail:.0f} W PV curtailed (export limit)"
    return "self-use"


def _later_peak(
    t: int,
    flows: Sequence[SlotFlows],
    import_price: Sequence[float],
    export_price: Sequence[float],
    starts: Sequence[datetime],
    tz: ZoneInfo,
) -> str | None:
    """'48.1c peak at 18:00' (or '250.0c export at 18:30'): the most valuable later slot in
    which the battery discharges, else the dearest later slot; None at the horizon end."""
    best: tuple[float, int, bool] | None = None
    for u in range(t + 1, len(flows)):
        g = flows[u]
        if g.batt_to_load > EPS_W and (best is None or import_price[u] > best[0]):
            best = (import_price[u], u, False)
        if g.batt_to_grid > EPS_W and (best is None or export_price[u] > best[0]):
            best = (export_price[u], u, True)
    if best is None:
        if t + 1 >= len(flows):
            return None
        u = max(range(t + 1, len(flows)), key=lambda v: import_price[v])
        best = (import_price[u], u, False)
    price, u, export = best
    at = starts[u].astimezone(tz).strftime("%H:%M")
    return f"{_c(price)} {'export' if export else 'peak'} at {at}"


def _hold_reason(
    t: int,
    flows: Sequence[SlotFlows],
    import_price: Sequence[float],
    export_price: Sequence[float],
    starts: Sequence[datetime],
    tz: ZoneInfo,
    kept_kwh: float,
) -> str:
    f = flows[t]
    if f.battery_w > f.selfuse_battery_w:  # the battery ends the slot fuller than self-use
        if f.selfuse_battery_w >= -EPS_W:
            return f"hold: store PV instead of exporting at {_c(export_price[t])}"
        target = _later_peak(t, flows, import_price, export_price, starts, tz)
        where = f"the {target}" if target else "after the horizon"
        return f"hold: keep {kept_kwh:.1f} kWh for {where}"
    if f.selfuse_battery_w > EPS_W:  # PV that self-use would store goes elsewhere
        if f.pv_to_grid > EPS_W:
            return f"hold: export PV at {_c(export_price[t])} now, store PV later"
        return "hold: PV not stored (battery filled later)"
    return f"hold: battery {f.battery_w:.0f} W instead of self-use {f.selfuse_battery_w:.0f} W"
