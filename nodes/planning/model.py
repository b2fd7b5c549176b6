"""solve_plan: build the MILP once, solve on HiGHS (direct) with CBC as fallback."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from nodes.planning.explain import (
    Horizon,
    SlotFlows,
    TargetMark,
    derive_mode,
    reason,
    selfuse_battery_w,
)
from nodes.planning.formulation import PlanModel, build_model
from nodes.planning.inputs import PlanInputs, SolverName
from nodes.planning.result import DemandResult, FlexibleResult, Plan, PlanSlot, TargetResult
from nodes.planning.solvers import (
    PlanError,
    SolveResult,
    SolverUnavailable,
    solve_highs,
    solve_pulp,
    to_pulp,
)

__all__ = ["PlanError", "build_pulp_problem", "solve_plan"]

_FALLBACK: dict[SolverName, SolverName] = {"highs": "cbc", "highs-pulp": "cbc", "cbc": "highs"}


def _run(pm: PlanModel, solver: SolverName, inp: PlanInputs) -> SolveResult:
    opt = inp.options
    if solver == "highs":
        return solve_highs(
            pm.lm, opt.time_limit_s, opt.mip_rel_gap, pm.round_relaxation, opt.mip_abs_gap
        )
    return solve_pulp(pm.lm, solver, opt.time_limit_s, opt.mip_rel_gap, opt.mip_abs_gap)


def solve_plan(inputs: PlanInputs) -> Plan:
    """Cheapest plan for the horizon. Raises PlanError unless the optimum is proven."""
    t0 = time.perf_counter()
    pm = build_model(inputs)
    formulate_ms = (time.perf_counter() - t0) * 1000.0
    solver = inputs.options.solver
    try:
        res = _run(pm, solver, inputs)
    except SolverUnavailable:
        try:
            res = _run(pm, _FALLBACK[solver], inputs)
        except SolverUnavailable as exc:
            raise PlanError(f"no solver available: {exc}", solver) from exc
    return _to_plan(inputs, pm, res, formulate_ms)


def build_pulp_problem(inputs: PlanInputs) -> Any:
    """The model as a named PuLP problem, for reading (prob.writeLP) and debugging."""
    return to_pulp(build_model(inputs).lm)[0]


def _to_plan(inp: PlanInputs, pm: PlanModel, res: SolveResult, formulate_ms: float) -> Plan:
    x, bat = res.values, inp.battery
    cap, h = bat.capacity_kwh, inp.slot_hours
    extra_load = [0.0] * inp.n_slots  # planned relays and flexible loads: the inverter sees them
    for d in inp.deferrable:
        for t, col in pm.deferrable_on.get(d.name, {}).items():
            if x[col] > 0.5:
                extra_load[t] += d.power_w
    flexible = _flexible(inp, pm, x)
    for placed in flexible:
        for t, w in enumerate(placed.power_w):
            extra_load[t] += w
    flows = []
    for t, s in enumerate(pm.slots):
        stored = inp.soc_now * cap if t == 0 else x[pm.slots[t - 1].soc]
        flows.append(
            SlotFlows(
                grid_to_batt=x[s.grid_to_batt] * 1000,
                batt_to_grid=x[s.batt_to_grid] * 1000,
                batt_to_load=x[s.batt_to_load] * 1000,
                grid_to_load=x[s.grid_to_load] * 1000,
                pv_to_grid=x[s.pv_to_grid] * 1000,
                pv_curtail=x[s.pv_curtail] * 1000,
                charge=(x[s.pv_to_batt] + x[s.grid_to_batt]) * 1000,
                discharge=(x[s.batt_to_load] + x[s.batt_to_grid]) * 1000,
                selfuse_battery_w=selfuse_battery_w(
                    inp.pv_w[t],
                    inp.load_w[t] + extra_load[t],
                    bat.max_charge_w,
                    bat.max_discharge_w,
                    room_kwh=bat.soc_max * cap - stored,
                    stored_kwh=stored - bat.soc_min * cap,
                    charge_efficiency=bat.charge_efficiency,
                    discharge_efficiency=bat.discharge_efficiency,
                    slot_hours=h,
                ),
            )
        )
    floor = min(bat.soc_min, inp.soc_now) * cap  # the model's: soc_min, or the SOC now below it
    targets = _targets(inp, pm, x)
    horizon = Horizon(
        flows,
        inp.import_price,
        inp.export_price,
        inp.slot_starts,
        ZoneInfo(inp.options.display_tz),
        stored_kwh=[max(0.0, x[s.soc] - floor) for s in pm.slots],
        start_kwh=max(0.0, inp.soc_now * cap - floor),
        targets=[
            TargetMark(r.slot, r.soc, r.by, r.soc * cap - floor, r.shortfall_kwh) for r in targets
        ],
    )
    slots = []
    for t, (s, f) in enumerate(zip(pm.slots, flows, strict=True)):
        imp_w = f.grid_to_load + f.grid_to_batt
        exp_w = f.pv_to_grid + f.batt_to_grid
        pi, pe = inp.import_price[t], inp.export_price[t]
        mode, power = derive_mode(f, pe)
        slots.append(
            PlanSlot(
                start=inp.slot_starts[t],
                mode=mode,
                power_w=_clean(power),
                soc_end=x[s.soc] / cap,
                grid_import_w=_clean(imp_w),
                grid_export_w=_clean(exp_w),
                battery_charge_w=_clean(f.charge),
                battery_discharge_w=_clean(f.discharge),
                battery_w=_clean(f.charge - f.discharge),
                selfuse_battery_w=_clean(f.selfuse_battery_w),
                pv_curtailed_w=_clean(f.pv_curtail),
                import_price=pi,
                export_price=pe,
                cost=(pi * imp_w - pe * exp_w) / 1000 * h,
                reason=reason(t, mode, horizon),
            )
        )
    deferrable = {
        name: sorted(t for t, col in ons.items() if x[col] > 0.5)
        for name, ons in pm.deferrable_on.items()
    }
    return Plan(
        slots=slots,
        objective=res.objective,
        solver=res.solver,
        status=res.status,
        solve_ms=res.solve_ms,
        build_ms=formulate_ms + res.build_ms,
        created_at=datetime.now(UTC),
        terminal_value_per_kwh=pm.terminal_value,
        deferrable=deferrable,
        targets=targets,
        demand=_demand(pm, slots),
        flexible=flexible,
    )


def _flexible(inp: PlanInputs, pm: PlanModel, x: list[float]) -> list[FlexibleResult]:
    """Each flexible load's planned power per slot, and how far short of its energy it is."""
    h = inp.slot_hours
    found = []
    for placed in pm.flexible:
        f = placed.load
        power_w = [0.0] * inp.n_slots
        for t, col in placed.power.items():
            power_w[t] = _clean(x[col] * 1000.0)
        found.append(
            FlexibleResult(
                name=f.name,
                energy_kwh=f.energy_kwh,
                planned_kwh=round(sum(power_w) / 1000.0 * h, 6),
                shortfall_kwh=round(max(0.0, x[placed.short]), 6),
                shortfall_price=f.price,
                hard=f.hard,
                solar_only=f.solar_only,
                from_battery=f.from_battery,
                power_w=power_w,
                first_slot=f.window[0],
                first_share=f.first_share,
            )
        )
    return found


def _demand(pm: PlanModel, slots: list[PlanSlot]) -> list[DemandResult]:
    """Each demand charge: the plan's peak import in its window and what it adds."""
    found = []
    for charge, _excess in pm.demand:
        peak = max((slots[t].grid_import_w / 1000.0 for t in charge.slots), default=0.0)
        added = charge.price_per_kw * max(0.0, peak - charge.peak_so_far_kw)
        found.append(
            DemandResult(
                name=charge.name,
                price_per_kw=charge.price_per_kw,
                peak_so_far_kw=charge.peak_so_far_kw,
                planned_peak_kw=round(peak, 6),
                added_cost=round(added, 6),
                peak_source=charge.peak_source,
            )
        )
    return found


def _targets(inp: PlanInputs, pm: PlanModel, x: list[float]) -> list[TargetResult]:
    """Each SOC target, what the plan reaches at its slot's end and how far short that is."""
    cap, h = inp.battery.capacity_kwh, inp.slot_hours
    found = []
    for target, _short in pm.targets:
        stored = x[pm.slots[target.slot].soc]
        end = inp.slot_starts[target.slot].astimezone(UTC) + timedelta(hours=h)
        found.append(
            TargetResult(
                by=target.by or end,
                slot=target.slot,
                soc=target.soc,
                requested_soc=target.soc if target.requested_soc is None else target.requested_soc,
                hard=target.hard,
                reached=stored / cap,
                shortfall_kwh=round(max(0.0, target.soc * cap - stored), 6),
                shortfall_price=target.price,
                name=target.name,
            )
        )
    return found


def _clean(w: float) -> float:
    """Round away solver noise so a 1e-9 W flow does not look like a decision."""
    return 0.0 if abs(w) < 1e-6 else round(w, 3)
