"""Build/solve p50/p95 (ms) of the 96-slot (48 h) plan for each solver path.

Self-contained synthetic day pair: sinusoidal PV 0-6 kW by day, 300-3000 W load with an
evening peak, cheap midday import, 16-21 h peak and one export spike. Cases: "base";
"incumb" = anti-flip on against a plan in force (solved before the export spike was
announced and on 1c dearer evenings; switch_penalty_per_kwh 0.01); "extras" = that plus a 7 kW
car needing 21 kWh overnight, as a flexible load (issue 21: a power per slot, no binaries);
"all" = extras plus a hard 90% SOC target by 06:00 each day and a $10/kW demand charge on
00-06 h import (issue 20's targets and demand charges, no binaries of their own); "relay" =
all plus a 1.2 kW pool pump on a relay that must run 8 whole slots by day (real binaries:
the relaxation runs it in fractions of slots, so this one goes to branch and bound). Run:
    python benchmarks/plan_solve.py [repeats]
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pulp  # type: ignore[import-untyped]

from nodes.planning import solve_plan
from nodes.planning.formulation import build_model
from nodes.planning.inputs import (
    BatterySpec,
    DeferrableLoad,
    DemandCharge,
    FlexibleLoad,
    GridSpec,
    PlanInputs,
    PlanOptions,
    SocTarget,
)
from nodes.planning.solvers import solve_highs, solve_pulp, to_pulp


def with_incumbent(inp: PlanInputs) -> PlanInputs:
    """Anti-flip on against a plan solved without the spike and on 1c dearer evenings."""
    imp = [p + (0.01 if (t % 48) >= 32 else 0.0) for t, p in enumerate(inp.import_price)]
    exp = list(inp.export_price)
    imp[48 + 37], exp[48 + 37] = imp[48 + 36], exp[48 + 36]
    previous = solve_plan(replace(inp, import_price=imp, export_price=exp))
    opts = replace(
        inp.options,
        incumbent_battery_w=[s.battery_w for s in previous.slots],
        switch_penalty_per_kwh=0.01,
    )
    return replace(inp, options=opts)


def with_extras(inp: PlanInputs) -> PlanInputs:
    """Anti-flip plus a 7 kW car needing 21 kWh between 18:00 and 07:30."""
    car = FlexibleLoad("car", 7000, 21.0, (36, 63), priority=1)
    return replace(with_incumbent(inp), flexible=(car,))


def with_everything(inp: PlanInputs) -> PlanInputs:
    """Extras plus a hard 90% target by 06:00 each day and a $10/kW charge on import from
    midnight to 06:00 (where the EV would charge): both bind, so both shape the plan."""
    targets = tuple(SocTarget(day * 48 + 11, 0.9, hard=True) for day in range(2))
    nights = tuple(t for t in range(len(inp.import_price)) if t % 48 < 12)
    demand = (DemandCharge(10.0, nights, peak_so_far_kw=1.0, name="night peak"),)
    return replace(with_extras(inp), targets=targets, demand_charges=demand)


def with_relay(inp: PlanInputs) -> PlanInputs:
    """Everything plus a 1.2 kW pool pump that runs 8 whole slots between 08:00 and 20:00."""
    pump = DeferrableLoad("pool_pump", 1200, 8, (16, 40))
    return replace(with_everything(inp), deferrable=(pump,))


def synthetic_inputs(solver: str = "highs", n: int = 96) -> PlanInputs:
    """Two days of half-hour slots starting at local midnight (slot index = local time)."""
    start = datetime(2025, 1, 14, 13, 0, tzinfo=UTC)  # 00:00 AEDT
    imp, exp, pv, load = [], [], [], []
    for t in range(n):
        hour = (t % 48) / 2
        sun = math.sin(math.pi * (hour - 6) / 13) if 6 <= hour <= 19 else 0.0
        pv.append(max(0.0, 6000 * sun * (1.0 if t < 48 else 0.7)))
        evening = math.exp(-((hour - 18.5) ** 2) / 4)
        load.append(300 + 2700 * evening + 400 * math.exp(-((hour - 7.5) ** 2) / 2))
        if 16 <= hour < 21:
            p = 0.45
        elif 10 <= hour < 15:
            p = 0.08
        else:
            p = 0.25
        imp.append(p)
        exp.append(-0.03 if 11 <= hour < 14 else (0.06 if p < 0.4 else 0.12))
    exp[48 + 37] = 2.50  # one export spike, day 2 at 18:30
    imp[48 + 37] = 2.80
    return PlanInputs(
        slot_starts=[start + timedelta(minutes=30 * t) for t in range(n)],
        import_price=imp,
        export_price=exp,
        pv_w=pv,
        load_w=load,
        soc_now=0.4,
        battery=BatterySpec(13.5, 5000, 5000, 0.95, 0.95, 0.1, 1.0),
        grid=GridSpec(max_import_w=15000, max_export_w=5000),
        options=PlanOptions(cycle_cost_per_kwh=0.02, break_even_delta=0.01, solver=solver),  # type: ignore[arg-type]
    )


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


def bench(path: str, repeats: int, inp: PlanInputs, label: str) -> None:
    form, build, solve, total, objs = [], [], [], [], []
    wrapper: list[float] = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        pm = build_model(inp)
        f_ms = (time.perf_counter() - t0) * 1000
        if path == "highs":
            res = solve_highs(pm.lm, 10.0, 1e-6, pm.round_relaxation)
        elif path == "highs-mip":
            res = solve_highs(pm.lm, 10.0, 1e-6)
        else:
            res = solve_pulp(pm.lm, path, 10.0, 1e-6)
            if path == "highs-pulp":
                # PuLP's own translation of its objects into highspy calls, inside solve().
                prob, _ = to_pulp(pm.lm)
                t1 = time.perf_counter()
                eng = pulp.HiGHS(msg=False)
                eng.createAndConfigureSolver(prob)
                eng.buildSolverModel(prob)
                wrapper.append((time.perf_counter() - t1) * 1000)
        form.append(f_ms)
        build.append(f_ms + res.build_ms)
        solve.append(res.solve_ms)
        total.append(f_ms + res.build_ms + res.solve_ms)
        objs.append(res.objective)
    line = (
        f"{label:6s} {path:10s} formulate p50 {pct(form, 0.5):6.2f} "
        f"| build p50 {pct(build, 0.5):6.2f} "
        f"p95 {pct(build, 0.95):6.2f} | solve p50 {pct(solve, 0.5):7.2f} "
        f"p95 {pct(solve, 0.95):7.2f}"
        f" | total p50 {pct(total, 0.5):7.2f} p95 {pct(total, 0.95):7.2f} ms"
        f" | obj {statistics.median(objs):.6f}"
    )
    if wrapper:
        line += f" | pulp->highs translation p50 {pct(wrapper, 0.5):.2f} ms (inside solve)"
    print(line)


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    pm = build_model(synthetic_inputs())
    n_int = sum(pm.lm.integer)
    print(
        "highs = LP relaxation + integral rounding (MIP only if that fails); "
        "highs-mip = always branch-and-cut"
    )
    print(
        f"96 slots: {pm.lm.n_cols} cols ({n_int} binary), {pm.lm.n_rows} rows, "
        f"{len(pm.lm.row_index)} nonzeros; {repeats} repeats"
    )
    cases = (
        ("base", synthetic_inputs()),
        ("incumb", with_incumbent(synthetic_inputs())),
        ("extras", with_extras(synthetic_inputs())),
        ("all", with_everything(synthetic_inputs())),
        ("relay", with_relay(synthetic_inputs())),
    )
    for label, inp in cases:
        for path in ("highs", "highs-mip", "highs-pulp", "cbc"):
            bench(path, repeats if path.startswith("highs") else max(5, repeats // 3), inp, label)


if __name__ == "__main__":
    main()
