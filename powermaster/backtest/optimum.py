"""The best bill a scenario allows: the planner's MILP over every slot at once, truth known.

It is the yardstick for ``capture``, so it uses the same model the live planner uses
(no simultaneous charge/discharge or import/export, curtailment allowed) with no
terminal value and a hard end-SOC floor at the start SOC: the optimum may not win by
draining the battery it was given.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from nodes.planning import BatterySpec, GridSpec, Plan, PlanInputs, PlanOptions, solve_plan
from powermaster.backtest.scenario import Scenario


@dataclass(frozen=True)
class Optimum:
    """The optimal plan's grid bill ($), final SOC (fraction) and solve time."""

    bill: float
    soc_final: float
    seconds: float
    plan: Plan


def plan_inputs(scenario: Scenario, time_limit_s: float = 600.0) -> PlanInputs:
    """The whole scenario as one planning problem with perfect knowledge."""
    b, g = scenario.battery, scenario.grid
    return PlanInputs(
        slot_starts=[scenario.slot_start(i) for i in range(scenario.n_slots)],
        import_price=scenario.import_price,
        export_price=scenario.export_price,
        pv_w=scenario.pv_w,
        load_w=scenario.load_w,
        soc_now=b.soc_initial,
        battery=BatterySpec(
            capacity_kwh=b.capacity_kwh,
            max_charge_w=b.max_charge_w,
            max_discharge_w=b.max_discharge_w,
            charge_efficiency=b.charge_efficiency,
            discharge_efficiency=b.discharge_efficiency,
            soc_min=b.soc_min,
            soc_max=b.soc_max,
        ),
        grid=GridSpec(max_import_w=g.max_import_w, max_export_w=g.max_export_w),
        options=PlanOptions(
            cycle_cost_per_kwh=b.cycle_cost_per_kwh,
            break_even_delta=0.0,
            terminal_value_per_kwh=0.0,
            final_soc_min=b.soc_initial,
            time_limit_s=time_limit_s,
            mip_abs_gap=0.0,  # the yardstick is the proven optimum itself
            display_tz=scenario.timezone,
        ),
        slot_hours=scenario.slot_hours,
    )


def optimum(scenario: Scenario, time_limit_s: float = 600.0) -> Optimum:
    """Solve the whole period; raises nodes.planning.PlanError if not proven optimal."""
    t0 = time.perf_counter()
    plan = solve_plan(plan_inputs(scenario, time_limit_s))
    seconds = time.perf_counter() - t0
    h = scenario.slot_hours
    bill = sum(
        (s.grid_import_w * s.import_price - s.grid_export_w * s.export_price) / 1000.0 * h
        for s in plan.slots
    )
    return Optimum(bill=bill, soc_final=plan.slots[-1].soc_end, seconds=seconds, plan=plan)


def optimum_bill(scenario: Scenario) -> float:
    """The best grid bill ($) with perfect knowledge of the whole period (no wear in it)."""
    return optimum(scenario).bill


__all__ = ["Optimum", "optimum", "optimum_bill", "plan_inputs"]
