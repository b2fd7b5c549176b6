"""Turn solved flows into controller modes and one-line human reasons.

A slot's mode says what the battery does in it, because the plan table and the Overview
show the mode as the battery's action: force_charge charges, force_discharge discharges,
hold leaves it idle (within EPS_W), and self-use / zero export is whatever the inverter's
Self Use would do. In every mode but self-use the controller commands battery_w exactly.

A reason takes its figures from the plan, never from a guess about it: the energy a slot
keeps (or stores) is followed along the planned SOC to the slots that discharge it, and
the slot named is the one that takes most of it, with its weekday when it is on another
local day than the slot explained ("Tue 19:00"), and its price. Energy that a SOC target
holds the battery to (the plan has no more there than the target) is named for the target
instead, when most of it is still in the battery at the target's slot (see aimed_at):
"charge from grid at 20.0c: for the 80% target at 16:00".
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from nodes.planning.inputs import Mode

EPS_W = 10.0  # flows below this are solver noise, not decisions
#: Stored energy (kWh) below this is not worth a "keep ...": it would print as 0.0 kWh.
MIN_KEPT_KWH = 0.05
_NOISE_KWH = 1e-4  # SOC moves below this are solver noise
#: A target binds (sets the SOC rather than the prices) when its slot ends within this
#: many kWh of it, or short of it.
_BINDING_KWH = 1e-3
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # not %a: that follows the locale


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


@dataclass(frozen=True)
class TargetMark:
    """A SOC target as reasons name it: ``soc`` by ``by``, at the end of slot ``slot``,
    which is ``level_kwh`` above the plan's floor (as Horizon.stored_kwh); the plan is
    ``short_kwh`` below it there."""

    slot: int
    soc: float
    by: datetime
    level_kwh: float
    short_kwh: float = 0.0


@dataclass(frozen=True)
class Horizon:
    """One solved plan as its reasons read it.

    stored_kwh: energy above the plan's floor (soc_min, or the SOC now if lower) at each
    slot's end, in the battery (before discharge losses); start_kwh: the same at the first
    slot's start; targets: the plan's SOC targets.
    """

    flows: Sequence[SlotFlows]
    import_price: Sequence[float]
    export_price: Sequence[float]
    starts: Sequence[datetime]
    tz: ZoneInfo
    stored_kwh: Sequence[float]
    start_kwh: float
    targets: Sequence[TargetMark] = ()

    def stored_before(self, t: int) -> float:
        return self.start_kwh if t == 0 else self.stored_kwh[t - 1]


@dataclass(frozen=True)
class Use:
    """Where stored energy goes: kwh of it discharged within the horizon, most in ``slot``
    (to the grid there when ``export``, so it is worth that slot's export price, else the
    import price it saves)."""

    kwh: float
    slot: int
    export: bool


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
    self-use (zero-export when feed-in is negative and nothing is exported), unless PV is
    curtailed while the house imports. Any other
    battery power is commanded exactly, and named by its direction so the label never
    says "hold" while the battery moves: charging is force_charge, discharging (less or
    more than self-use would, for the load) force_discharge, and only an idle battery hold.
    """
    if f.grid_to_batt > EPS_W:
        return "force_charge", f.grid_to_batt
    if f.batt_to_grid > EPS_W:
        return "force_discharge", f.batt_to_grid + f.batt_to_load
    # Curtailing PV while the house runs from the grid (paid to import) is nothing the
    # inverter's own modes do: the setpoint holds it.
    paid_import = f.pv_curtail > EPS_W and f.grid_to_load > EPS_W
    if abs(f.battery_w - f.selfuse_battery_w) <= EPS_W and not paid_import:
        if export_price < 0 and f.pv_to_grid + f.batt_to_grid <= EPS_W:
            return "self_use_zero_export", 0.0
        return "self_use", 0.0
    if f.battery_w > EPS_W:
        return "force_charge", f.battery_w
    if f.battery_w < -EPS_W:
        return "force_discharge", -f.battery_w
    return "hold", abs(f.battery_w)


def drawn(h: Horizon, t: int, low: float) -> dict[int, float]:
    """kWh of the energy stored between level ``low`` and the level at slot t's end that
    each later slot discharges.

    Energy at a level stays in the battery until the SOC first falls below that level
    (what is charged later sits above it and goes first), so the planned SOC alone says
    where the energy held at t ends up, without guessing from prices.
    """
    level = h.stored_kwh[t]
    out: dict[int, float] = {}
    for u in range(t + 1, len(h.stored_kwh)):
        if level <= low:
            break
        lower = min(level, h.stored_kwh[u])
        part = level - max(lower, low)
        if part > 0:
            out[u] = part
        level = lower
    return out


def use_of(h: Horizon, t: int, low: float) -> Use | None:
    """Where the energy between ``low`` and slot t's end level is discharged (see drawn),
    or None when none of it is within the horizon."""
    parts = drawn(h, t, low)
    used = {u: kwh for u, kwh in parts.items() if h.flows[u].discharge > EPS_W}
    if sum(used.values()) < _NOISE_KWH:
        return None
    u = max(used, key=lambda v: (used[v], -v))  # most of it; the earliest of equals
    g = h.flows[u]
    return Use(sum(used.values()), u, g.batt_to_grid > g.batt_to_load)


def _c(price: float) -> str:
    return f"{price * 100:.1f}c"


def _w(watts: float) -> str:
    return f"{round(watts)} W"  # an int: never "-0 W"


def _kwh(kwh: float) -> str:
    return f"{kwh:.1f} kWh" if kwh >= 1 else f"{kwh:.2f} kWh"


def when(h: Horizon, t: int, u: int) -> str:
    """Slot u's local start as seen from slot t: "19:00" on t's local day, else "Tue 19:00"."""
    return _local(h, t, h.starts[u])


def _local(h: Horizon, t: int, moment: datetime) -> str:
    """``moment`` in local time as seen from slot t: "19:00" on t's local day, else
    "Tue 19:00"."""
    here, there = h.starts[t].astimezone(h.tz), moment.astimezone(h.tz)
    at = there.strftime("%H:%M")
    return at if there.date() == here.date() else f"{_DAYS[there.weekday()]} {at}"


def _pct(soc: float) -> str:
    value = soc * 100
    return f"{value:.0f}%" if abs(value - round(value)) < 0.05 else f"{value:.1f}%"


def aimed_at(h: Horizon, t: int, low: float) -> tuple[float, TargetMark] | None:
    """kWh of the energy between level ``low`` and slot t's end level that a SOC target at
    t or after needs, and that target (the first such); None when no target takes it.

    A target takes the part of that energy still in the battery at its slot: the planned
    SOC from t's end to the target's slot never falls below it (what lies above the lowest
    SOC on the way is discharged before the target: see drawn, the top goes first). It is
    named only when it binds (the plan has no more than the target at its slot: the
    target sets the SOC there, not the prices) and takes at least MIN_KEPT_KWH and most of
    the energy, no less than what is discharged before its slot, as use_of names the slot
    that takes most. So a battery kept full for an evening peak that leaves 0.5 kWh of
    the 9 kWh kept for a morning target is kept for the peak, and a night's charge that
    stays in the battery until the target is for the target.
    """
    top = h.stored_kwh[t]
    for mark in sorted(h.targets, key=lambda m: m.slot):
        if mark.slot < t or h.stored_kwh[mark.slot] > mark.level_kwh + _BINDING_KWH:
            continue
        kept = min(h.stored_kwh[t : mark.slot + 1])  # what stays in the battery until then
        part = min(kept, mark.level_kwh) - low
        spent = top - max(kept, low)  # discharged before the target's slot
        if part >= MIN_KEPT_KWH and part >= spent:
            return part, mark
    return None


def _target_name(h: Horizon, t: int, mark: TargetMark) -> str:
    """'the 80% target at 16:00' (', 1.2 kWh short' when the plan cannot meet it)."""
    short = f", {_kwh(mark.short_kwh)} short" if mark.short_kwh >= MIN_KEPT_KWH else ""
    return f"the {_pct(mark.soc)} target at {_local(h, t, mark.by)}{short}"


def _target(h: Horizon, t: int, use: Use) -> str:
    """'31.0c peak at Tue 19:00' (the import it saves there), '250.0c export at 18:30' (sold
    there), or '12.0c load at 03:00' when that import is no dearer than slot t's: no peak."""
    u = use.slot
    if use.export:
        return f"{_c(h.export_price[u])} export at {when(h, t, u)}"
    kind = "peak" if h.import_price[u] > h.import_price[t] else "load"
    return f"{_c(h.import_price[u])} {kind} at {when(h, t, u)}"


def _keeping(h: Horizon, t: int) -> str | None:
    """'keep 1.4 kWh for the 31.0c peak at Tue 19:00': the energy in the battery at t's end
    that the plan discharges within the horizon, and where most of it goes; None when that
    is too little to name. Energy a SOC target holds is kept for the target."""
    aimed = aimed_at(h, t, 0.0)
    if aimed is not None:
        kwh, mark = aimed
        return f"keep {_kwh(kwh)} for {_target_name(h, t, mark)}"
    use = use_of(h, t, 0.0)
    if use is None or use.kwh < MIN_KEPT_KWH:
        return None
    return f"keep {_kwh(use.kwh)} for the {_target(h, t, use)}"


def reason(t: int, mode: Mode, h: Horizon) -> str:
    """Short why-text for slot t; names the later slot a charge or a hold is aimed at."""
    f = h.flows[t]
    if mode == "force_charge":
        return _charge_reason(t, h)
    if mode == "force_discharge":
        return _discharge_reason(t, h)
    if mode == "hold":
        return _hold_reason(t, h)
    if mode == "self_use_zero_export":
        what = "curtail PV" if f.pv_curtail > EPS_W else "self-consume"
        return f"zero export: feed-in {_c(h.export_price[t])} ({what})"
    if f.pv_curtail > EPS_W:
        return f"self-use, {_w(f.pv_curtail)} PV curtailed (export limit)"
    return "self-use"


def _charge_reason(t: int, h: Horizon) -> str:
    f, pi = h.flows[t], h.import_price[t]
    if f.grid_to_batt <= EPS_W:  # PV only, but not what self-use would store
        if f.battery_w < f.selfuse_battery_w:
            rest = f"export it at {_c(h.export_price[t])}" if f.pv_to_grid > EPS_W else "curtail it"
            return f"charge {_w(f.battery_w)} from PV, the rest not stored: {rest}"
        head = f"charge {_w(f.battery_w)} from PV while the grid covers the load at {_c(pi)}"
    elif pi < 0:
        return f"charge from grid at {_c(pi)}: paid to import"
    else:
        head = f"charge from grid at {_c(pi)}"
    aimed = aimed_at(h, t, h.stored_before(t))
    if aimed is not None:
        return f"{head}: for {_target_name(h, t, aimed[1])}"
    use = use_of(h, t, h.stored_before(t))
    if use is None:
        return f"{head}: stored for after the horizon"
    worth = (h.export_price if use.export else h.import_price)[use.slot]
    return f"{head}: {'cheaper than' if pi < worth else 'for'} the {_target(h, t, use)}"


def _discharge_reason(t: int, h: Horizon) -> str:
    f, pi, pe = h.flows[t], h.import_price[t], h.export_price[t]
    if f.batt_to_grid > EPS_W:
        spike = pe >= 2 * max(statistics.median(h.import_price), 0.01)
        return f"export stored energy at {_c(pe)}{' spike' if spike else ''}"
    if f.battery_w > f.selfuse_battery_w:  # less than self-use: the grid covers the rest
        head = f"discharge {_w(-f.battery_w)}, import the rest of the load at {_c(pi)}"
        keep = _keeping(h, t)
        return f"{head}: {keep}" if keep else head
    if f.pv_to_grid > EPS_W:
        return f"discharge {_w(-f.battery_w)} for the load, export PV at {_c(pe)}"
    return f"discharge {_w(-f.battery_w)} instead of self-use {_w(f.selfuse_battery_w)}"


def _hold_reason(t: int, h: Horizon) -> str:
    f, pi = h.flows[t], h.import_price[t]
    if f.selfuse_battery_w < -EPS_W:  # self-use would discharge: the grid covers the load
        keep = _keeping(h, t)
        if keep:
            return f"hold: {keep}"
        left = h.stored_kwh[t] - sum(drawn(h, t, 0.0).values())  # still there at the end
        if left >= MIN_KEPT_KWH:
            return f"hold: keep {_kwh(left)} past the plan's end"
        return f"hold: battery near its floor, the grid covers the load at {_c(pi)}"
    if f.selfuse_battery_w > EPS_W:  # PV that self-use would store goes elsewhere
        if f.pv_to_grid > EPS_W:
            return f"hold: export PV at {_c(h.export_price[t])} now rather than store it"
        return "hold: curtail PV rather than store it"
    return f"hold: battery idle instead of self-use {_w(f.selfuse_battery_w)}"
