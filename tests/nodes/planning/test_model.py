"""Hand-checkable 2-8 slot cases for the battery planner (1 h slots unless stated)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nodes.planning import (
    BatterySpec,
    DeferrableLoad,
    GridSpec,
    Plan,
    PlanError,
    PlanInputs,
    PlanOptions,
    solve_plan,
)
from nodes.planning.solvers import INTEGRALITY_TOLERANCE

T0 = datetime(2025, 1, 1, tzinfo=UTC)
EPS = 1e-6


def make(
    imp: list[float],
    exp: list[float] | None = None,
    pv: list[float] | None = None,
    load: list[float] | None = None,
    soc_now: float = 0.0,
    battery: dict[str, Any] | None = None,
    grid: dict[str, Any] | None = None,
    deferrable: tuple[DeferrableLoad, ...] = (),
    slot_hours: float = 1.0,
    **opts: Any,
) -> PlanInputs:
    n = len(imp)
    bat: dict[str, Any] = dict(capacity_kwh=10.0, max_charge_w=2000, max_discharge_w=2000)
    bat.update(charge_efficiency=0.9, discharge_efficiency=0.9, soc_min=0.0, soc_max=1.0)
    bat.update(battery or {})
    g = dict(max_import_w=10000, max_export_w=5000)
    g.update(grid or {})
    opts.setdefault("terminal_value_per_kwh", 0.0)
    return PlanInputs(
        slot_starts=[T0 + timedelta(hours=slot_hours * t) for t in range(n)],
        import_price=imp,
        export_price=exp if exp is not None else [0.0] * n,
        pv_w=pv if pv is not None else [0.0] * n,
        load_w=load if load is not None else [0.0] * n,
        soc_now=soc_now,
        battery=BatterySpec(**bat),
        grid=GridSpec(**g),
        options=PlanOptions(**opts),
        deferrable=deferrable,
        slot_hours=slot_hours,
    )


def modes(plan: Plan) -> list[str]:
    return [s.mode for s in plan.slots]


# --- arbitrage: buy 2 kWh at 10c, 0.81 of it comes back out in slot 1 ----------------------


def test_arbitrage_when_spread_beats_losses() -> None:
    plan = solve_plan(make([0.10, 0.30], [0.0, 0.20]))
    assert modes(plan) == ["force_charge", "force_discharge"]
    assert plan.slots[0].power_w == pytest.approx(2000)
    assert plan.slots[1].grid_export_w == pytest.approx(1620)  # 2 kWh x 0.9 x 0.9
    assert plan.objective == pytest.approx(2 * 0.10 - 1.62 * 0.20)
    assert "charge from grid at 10.0c" in plan.slots[0].reason
    assert "export stored energy at 20.0c" in plan.slots[1].reason


@pytest.mark.parametrize(
    "export, opts",
    [
        (0.12, {}),  # 0.81 x 12c = 9.7c < 10c: losses eat the spread
        (0.20, {"cycle_cost_per_kwh": 0.08}),  # 0.81 x (20 - 8)c = 9.7c
        (0.20, {"break_even_delta": 0.08}),  # same hurdle via break-even delta
    ],
)
def test_no_arbitrage_when_spread_does_not_beat_costs(export: float, opts: dict[str, Any]) -> None:
    plan = solve_plan(make([0.10, 0.30], [0.0, export], **opts))
    assert modes(plan) == ["self_use", "self_use"]
    assert plan.objective == pytest.approx(0.0, abs=1e-6)


def test_arbitrage_survives_small_break_even_delta() -> None:
    plan = solve_plan(make([0.10, 0.30], [0.0, 0.20], break_even_delta=0.02))
    assert modes(plan) == ["force_charge", "force_discharge"]  # 0.81 x 18c = 14.6c > 10c


# --- negative feed-in --------------------------------------------------------------------


def test_zero_export_curtails_when_battery_full() -> None:
    plan = solve_plan(make([0.3], [-0.05], pv=[5000], load=[1000], soc_now=1.0))
    s = plan.slots[0]
    assert s.mode == "self_use_zero_export"
    assert s.grid_export_w == 0 and s.pv_curtailed_w == pytest.approx(4000)
    assert s.reason.startswith("zero export: feed-in -5.0c")


def test_zero_export_self_consumes_into_battery() -> None:
    plan = solve_plan(make([0.3], [-0.05], pv=[5000], load=[1000], soc_now=0.0))
    s = plan.slots[0]
    assert s.mode == "self_use_zero_export"
    assert s.grid_export_w == 0
    assert s.battery_charge_w == pytest.approx(2000)
    assert s.pv_curtailed_w == pytest.approx(2000)


# --- storm reserve and horizon end ---------------------------------------------------------


def test_storm_reserve_floor_held() -> None:
    base: dict[str, Any] = dict(imp=[0.5] * 4, load=[2000] * 4, soc_now=0.8)
    free = solve_plan(make(**base))
    assert free.slots[-1].soc_end < 0.6  # without a reserve the battery serves the load
    plan = solve_plan(make(**base, reserve=[(range(1, 4), 0.6)]))
    assert all(s.soc_end >= 0.6 - EPS for s in plan.slots[1:])
    assert plan.total_cost > free.total_cost  # the reserve costs bill savings


def test_no_dumping_at_horizon_end_with_flat_prices() -> None:
    inp = make([0.30] * 6, [0.10] * 6, soc_now=0.9, terminal_value_per_kwh=None)
    assert inp.terminal_value() == pytest.approx(0.9 * 0.30)
    plan = solve_plan(inp)
    assert all(s.grid_export_w == 0 for s in plan.slots)
    assert plan.slots[-1].soc_end == pytest.approx(0.9)


# --- deferrable loads ----------------------------------------------------------------------

NO_BATTERY = {"max_charge_w": 0, "max_discharge_w": 0}


def test_deferrable_load_in_cheapest_window() -> None:
    pool = DeferrableLoad("pool", power_w=2000, run_slots=2, window=(0, 5))
    plan = solve_plan(make([0.3, 0.3, 0.1, 0.1, 0.3, 0.3], battery=NO_BATTERY, deferrable=(pool,)))
    assert plan.deferrable == {"pool": [2, 3]}
    assert [s.grid_import_w for s in plan.slots] == [0, 0, 2000, 2000, 0, 0]


def test_deferrable_priority_breaks_ties() -> None:
    loads = (
        DeferrableLoad("dryer", 3000, 1, (0, 3), priority=0),
        DeferrableLoad("ev", 3000, 1, (0, 3), priority=5),
    )
    plan = solve_plan(
        make([0.3] * 4, battery=NO_BATTERY, grid={"max_import_w": 4000}, deferrable=loads)
    )
    assert plan.deferrable == {"dryer": [1], "ev": [0]}


# --- physical constraints ------------------------------------------------------------------


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_no_simultaneous_charge_and_discharge(solver: str) -> None:
    # Paid to import: without the binary the battery would burn energy (charge+discharge).
    inp = make([-0.10] * 4, [0.05] * 4, load=[1000] * 4, soc_now=0.5, solver=solver)
    plan = solve_plan(inp)
    for s in plan.slots:
        assert min(s.battery_charge_w, s.battery_discharge_w) == 0
        assert min(s.grid_import_w, s.grid_export_w) == 0


def test_no_grid_charge_still_allows_solar_charging() -> None:
    plan = solve_plan(
        make(
            [0.05, 0.05, 0.50, 0.50], pv=[3000, 3000, 0, 0], load=[500] * 4, allow_grid_charge=False
        )
    )
    assert "force_charge" not in modes(plan)
    # PV stores at least what the two 500 W evening slots need: 1 kWh / (0.9 x 0.9); with
    # a 0c feed-in storing more is free, and self-use stores all it can (2 kW x 2 slots).
    assert modes(plan)[:2] == ["self_use", "self_use"]
    assert sum(s.battery_charge_w for s in plan.slots[:2]) == pytest.approx(4000)
    assert all(s.grid_import_w == 0 for s in plan.slots)
    allowed = solve_plan(make([0.05, 0.05, 0.50, 0.50], pv=[0, 0, 0, 0], load=[500] * 4))
    assert "force_charge" in modes(allowed)


def test_arbitrage_gate_forbids_battery_export_keeps_pv_export() -> None:
    kw: dict[str, Any] = dict(
        imp=[0.3, 0.3], exp=[1.00, 0.05], pv=[3000, 0], load=[0, 0], soc_now=1.0
    )
    open_ = solve_plan(make(**kw))
    assert open_.slots[0].mode == "force_discharge"
    assert open_.slots[0].grid_export_w == pytest.approx(5000)  # 3 kW PV + 2 kW battery
    gated = solve_plan(make(**kw, arbitrage_export=False))
    assert "force_discharge" not in modes(gated)
    assert gated.slots[0].grid_export_w == pytest.approx(3000)  # PV only


# --- SOC bounds property -------------------------------------------------------------------

prices = st.lists(st.floats(-0.2, 1.0), min_size=6, max_size=6)
watts = st.lists(st.floats(0, 6000), min_size=6, max_size=6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(imp=prices, exp=prices, pv=watts, load=watts, soc=st.floats(0.2, 0.9), n=st.integers(2, 6))
def test_soc_never_outside_hard_limits(
    imp: list[float], exp: list[float], pv: list[float], load: list[float], soc: float, n: int
) -> None:
    inp = make(
        imp[:n],
        exp[:n],
        pv[:n],
        load[:n],
        soc_now=soc,
        slot_hours=0.5,
        battery={"soc_min": 0.2, "soc_max": 0.9},
        terminal_value_per_kwh=None,
    )
    plan = solve_plan(inp)
    # A binary counts as integral within INTEGRALITY_TOLERANCE, so a flow it switches off
    # can carry up to its limit times that (0.01 W at 10 kW); slots are rounded to 1 mW.
    battery_eps = max(inp.battery.max_charge_w, inp.battery.max_discharge_w) * INTEGRALITY_TOLERANCE
    grid_eps = max(inp.grid.max_import_w, inp.grid.max_export_w) * INTEGRALITY_TOLERANCE
    for s in plan.slots:
        assert 0.2 - 1e-7 <= s.soc_end <= 0.9 + 1e-7
        assert min(s.battery_charge_w, s.battery_discharge_w) <= battery_eps + 5e-4
        assert min(s.grid_import_w, s.grid_export_w) <= grid_eps + 5e-4


# --- solver agreement and failures -----------------------------------------------------------

SCENARIOS = {
    "arbitrage": make([0.10, 0.30, 0.12, 0.45], [0.0, 0.20, 0.02, 0.30], cycle_cost_per_kwh=0.01),
    "negative": make(
        [-0.1, 0.2, 0.3, 0.4],
        [-0.05, -0.02, 0.1, 0.2],
        pv=[4000, 4000, 1000, 0],
        load=[800, 900, 1500, 2500],
        soc_now=0.3,
    ),
    "reserve_soft": make(
        [0.3, 0.1, 0.5, 0.6, 0.2, 0.4],
        pv=[0, 2000, 3000, 0, 0, 0],
        load=[1000] * 6,
        soc_now=0.5,
        reserve=[(range(3, 6), 0.7)],
        soft_soc_min=0.4,
        soft_soc_min_penalty=0.05,
        soft_soc_max=0.9,
        soft_soc_max_penalty=0.01,
        terminal_value_per_kwh=None,
    ),
    "deferrable": make(
        [0.3, 0.2, 0.1, 0.15, 0.4, 0.3, 0.25, 0.2],
        [0.05] * 8,
        pv=[0, 500, 2500, 3500, 2000, 0, 0, 0],
        load=[600] * 8,
        soc_now=0.2,
        deferrable=(
            DeferrableLoad("ev", 3500, 3, (1, 7), 1),
            DeferrableLoad("dw", 1200, 2, (0, 5), 0),
        ),
    ),
    "hysteresis": make(
        [0.1, 0.3, 0.1, 0.4],
        [0.0, 0.35, 0.0, 0.38],
        switch_penalty_per_kwh=0.02,
        incumbent_battery_w=[0.0, 2000.0, None, -2000.0],
    ),
}


@pytest.mark.parametrize("name", SCENARIOS)
def test_highs_and_cbc_agree(name: str) -> None:
    inp = SCENARIOS[name]
    objs = {}
    for solver in ("highs", "highs-pulp", "cbc"):
        plan = solve_plan(replace(inp, options=replace(inp.options, solver=solver)))
        assert plan.solver == solver and plan.status == "Optimal"
        objs[solver] = plan.objective
    ref = objs["cbc"]
    for solver, obj in objs.items():
        assert obj == pytest.approx(ref, rel=1e-6, abs=1e-9), (solver, objs)


@pytest.mark.parametrize("solver", ["highs", "highs-pulp", "cbc"])
def test_infeasible_raises_plan_error(solver: str) -> None:
    inp = make([0.3], load=[10000], grid={"max_import_w": 1000}, battery=NO_BATTERY, solver=solver)
    with pytest.raises(PlanError) as err:
        solve_plan(inp)
    assert "nfeasible" in err.value.status


def test_timeout_raises_plan_error() -> None:
    inp = SCENARIOS["deferrable"]
    for solver in ("highs", "highs-pulp"):
        tiny = replace(inp.options, solver=solver, time_limit_s=1e-9)
        with pytest.raises(PlanError) as err:
            solve_plan(replace(inp, options=tiny))
        assert "ime" in err.value.status or "stopped" in err.value.status


def test_plan_round_trips_through_json() -> None:
    plan = solve_plan(SCENARIOS["deferrable"])
    data = json.loads(json.dumps(plan.to_dict()))
    assert Plan.from_dict(data) == plan
    assert data["deferrable"]["ev"] == plan.deferrable["ev"] and len(plan.deferrable["ev"]) == 3


def test_input_validation() -> None:
    with pytest.raises(ValueError):
        make([0.1, 0.2], exp=[0.0])
    with pytest.raises(ValueError):
        PlanInputs(
            [datetime(2025, 1, 1)],
            [0.1],
            [0.0],
            [0.0],
            [0.0],
            0.5,
            BatterySpec(10, 1000, 1000),
            GridSpec(1000, 1000),
        )
