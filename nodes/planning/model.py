"""solve_plan: build the MILP once, solve on HiGHS (direct) with CBC as fallback."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from nodes.planning.explain import EPS_W, SlotFlows, derive_mode, reason
from nodes.planning.formulation import PlanModel, build_model
from nodes.planning.inputs import PlanInputs, SolverName
from nodes.planning.plan import Plan, PlanSlot
from nodes.planning.solvers import (
    PlanError,
    SolveResult,
    SolverUnavailable,
    solve_highs,
    solve_pulp,
)

__all__ = ["PlanError", "build_pulp_problem", "solve_plan"]

_FALLBACK: dict[SolverName, SolverName] = {"highs": "cbc", "highs-pulp": "cbc", "cbc": "highs"}


def _run(pm: PlanModel, solver: SolverName, inp: PlanInputs) -> SolveResult:
    opt = inp.options
    if solver == "highs":
        return solve_highs(
            pm.lm, opt.time_limit_s, opt.mip_rel_gap, pm.round_relaxation, pm.indicators
        )
    return solve_pulp(pm.lm, solver, opt.time_limit_s, opt.mip_rel_gap)


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
    from nodes.planning.solvers import to_pulp

    return to_pulp(build_model(inputs).lm)[0]


def _to_plan(inp: PlanInputs, pm: PlanModel, res: SolveResult, formulate_ms: float) -> Plan:
    x, cap = res.values, inp.battery.capacity_kwh
    flows = [
        SlotFlows(
            grid_to_batt=x[s.grid_to_batt] * 1000,
            batt_to_grid=x[s.batt_to_grid] * 1000,
            batt_to_load=x[s.batt_to_load] * 1000,
            grid_to_load=x[s.grid_to_load] * 1000,
            pv_to_grid=x[s.pv_to_grid] * 1000,
            pv_curtail=x[s.pv_curtail] * 1000,
            charge=(x[s.pv_to_batt] + x[s.grid_to_batt]) * 1000,
            discharge=(x[s.batt_to_load] + x[s.batt_to_grid]) * 1000,
        )
        for s in pm.slots
    ]
    tz = ZoneInfo(inp.options.display_tz)
    slots = []
    for t, (s, f) in enumerate(zip(pm.slots, flows, strict=True)):
        imp_w = f.grid_to_load + f.grid_to_batt
        exp_w = f.pv_to_grid + f.batt_to_grid
        pi, pe = inp.import_price[t], inp.export_price[t]
        mode, power = derive_mode(f, pe)
        soc = x[s.soc] / cap
        above_min = soc > inp.battery.soc_min + EPS_W / 1000 / cap
        slots.append(
            PlanSlot(
                start=inp.slot_starts[t],
                mode=mode,
                power_w=_clean(power),
                soc_end=soc,
                grid_import_w=_clean(imp_w),
                grid_export_w=_clean(exp_w),
                battery_charge_w=_clean(f.charge),
                battery_discharge_w=_clean(f.discharge),
                pv_curtailed_w=_clean(f.pv_curtail),
                import_price=pi,
                export_price=pe,
                cost=(pi * imp_w - pe * exp_w) / 1000 * inp.slot_hours,
                reason=reason(
                    t,
                    mode,
                    flows,
                    inp.import_price,
                    inp.export_price,
                    inp.slot_starts,
                    tz,
                    above_min,
                ),
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
    )


def _clean(w: float) -> float:
    """Round away solver noise so a 1e-9 W flow does not look like a decision."""
    return 0.0 if abs(w) < 1e-6 else round(w, 3)
