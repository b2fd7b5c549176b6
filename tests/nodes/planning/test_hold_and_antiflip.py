"""Hold mode, battery_w, final SOC floor, LP anti-flip, truncated and month-long horizons."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from flowengine import VirtualClock
from nodes.planning import Plan, PlanError, PlanInputs, PlanSlot, solve_plan
from nodes.planning.explain import selfuse_battery_w
from nodes.planning.plan import Planner
from tests.nodes.planning.test_model import SCENARIOS, make, modes

EPS = 1e-6


# --- hold ------------------------------------------------------------------------------------


def test_hold_keeps_battery_for_later_peak_while_grid_covers_cheap_load() -> None:
    # 2.22 kWh of the 3 kWh stored must serve the 2 kW peak in slot 2 (0.9 discharge
    # efficiency); self-use would spend it on the cheap 1 kW load of slots 0 and 1 instead.
    plan = solve_plan(
        make([0.10, 0.10, 0.50], load=[1000, 1000, 2000], soc_now=0.3, allow_grid_charge=False)
    )
    # Slot 0 discharges the spare 0.78 kWh x 0.9 early: named so, not "hold".
    assert modes(plan) == ["force_discharge", "hold", "self_use"]
    s1 = plan.slots[1]
    assert s1.battery_w == 0 and s1.selfuse_battery_w == pytest.approx(-1000)
    assert s1.grid_import_w == pytest.approx(1000)
    assert s1.reason == "hold: keep 2.2 kWh for the 50.0c peak at 02:00"
    s0 = plan.slots[0]
    assert s0.battery_w == pytest.approx(-700) and s0.power_w == pytest.approx(700)
    assert s0.reason == (
        "discharge 700 W, import the rest of the load at 10.0c: "
        "keep 2.2 kWh for the 50.0c peak at 02:00"
    )
    assert plan.slots[2].battery_w == pytest.approx(-2000) == plan.slots[2].selfuse_battery_w
    assert plan.slots[-1].soc_end == pytest.approx(0.0, abs=EPS)


def test_flat_prices_give_self_use_not_hold() -> None:
    # Serving the load now or later costs the same: the plan does what self-use does.
    plan = solve_plan(make([0.25] * 6, load=[800] * 6, soc_now=0.3))
    assert set(modes(plan)) == {"self_use"}


def test_hold_exports_pv_before_a_negative_feed_in_window() -> None:
    # 6c feed-in now, -5c later: export PV now and fill the battery from later PV.
    plan = solve_plan(
        make(
            [0.3] * 4,
            [0.06, 0.06, -0.05, -0.05],
            pv=[3000] * 4,
            load=[0] * 4,
            soc_now=0.6,
            battery={"max_charge_w": 3000},
            arbitrage_export=False,
        )
    )
    assert plan.slots[0].mode == "hold" and plan.slots[0].battery_w == 0
    assert plan.slots[0].reason.startswith("hold: export PV at 6.0c now")
    assert modes(plan)[2:] == ["self_use_zero_export"] * 2


def test_selfuse_battery_w_respects_power_and_soc_limits() -> None:
    kw = dict(charge_efficiency=0.9, discharge_efficiency=0.9, slot_hours=0.5)
    assert selfuse_battery_w(5000, 1000, 3000, 3000, 10, 10, **kw) == 3000
    assert selfuse_battery_w(5000, 1000, 3000, 3000, 0.9, 10, **kw) == pytest.approx(2000)
    assert selfuse_battery_w(0, 4000, 3000, 3000, 10, 10, **kw) == -3000
    assert selfuse_battery_w(0, 4000, 3000, 3000, 10, 0.5, **kw) == pytest.approx(-900)
    assert selfuse_battery_w(0, 4000, 3000, 3000, 10, -0.1, **kw) == 0


@pytest.mark.parametrize("name", SCENARIOS)
def test_battery_w_is_charge_minus_discharge(name: str) -> None:
    plan = solve_plan(SCENARIOS[name])
    for s in plan.slots:
        assert s.battery_w == pytest.approx(s.battery_charge_w - s.battery_discharge_w, abs=1e-3)
        if s.mode in ("self_use", "self_use_zero_export"):
            assert s.battery_w == pytest.approx(s.selfuse_battery_w, abs=10)
        if s.mode == "hold":
            assert abs(s.battery_w - s.selfuse_battery_w) > 10


def test_old_plan_dicts_without_battery_w_still_load() -> None:
    d = solve_plan(SCENARIOS["arbitrage"]).to_dict()
    for s in d["slots"]:
        del s["battery_w"], s["selfuse_battery_w"]
    plan = Plan.from_dict(d)
    s = plan.slots[0]
    assert s.battery_w == s.battery_charge_w - s.battery_discharge_w
    assert PlanSlot.from_dict(s.to_dict()) == s


# --- final SOC floor -------------------------------------------------------------------------


def test_final_soc_min_held() -> None:
    kw: dict[str, Any] = dict(imp=[0.3] * 4, exp=[0.0, 1.0, 0.0, 0.0], soc_now=0.5)
    free = solve_plan(make(**kw))
    assert free.slots[-1].soc_end < 0.3  # sells into the spike
    plan = solve_plan(make(**kw, final_soc_min=0.5))
    assert plan.slots[-1].soc_end >= 0.5 - EPS
    assert "force_discharge" in modes(plan)  # still sells, then buys back at 30c


def test_final_soc_min_unreachable_raises() -> None:
    with pytest.raises(PlanError):
        solve_plan(make([0.3] * 2, soc_now=0.2, allow_grid_charge=False, final_soc_min=0.9))
    with pytest.raises(ValueError):
        make([0.3], soc_now=0.5, battery={"soc_max": 0.8}, final_soc_min=0.9)


def month_inputs(n: int) -> PlanInputs:
    """n half-hour slots of a repeating day: PV, evening peak, negative midday feed-in."""
    imp, exp, pv, load = [], [], [], []
    for t in range(n):
        hour = (t % 48) / 2
        day = t // 48
        sun = max(0.0, math.sin(math.pi * (hour - 6) / 13)) if 6 <= hour <= 19 else 0.0
        pv.append(6000 * sun * (0.5 + 0.5 * ((day * 7) % 5) / 4))
        load.append(400 + 2500 * math.exp(-((hour - 18.5) ** 2) / 4))
        p = 0.45 if 16 <= hour < 21 else 0.08 if 10 <= hour < 15 else 0.25
        p += 0.03 * math.sin(t * 0.37)
        imp.append(p)
        exp.append(-0.03 if 11 <= hour < 14 else 0.06)
    return make(
        imp,
        exp,
        pv,
        load,
        soc_now=0.4,
        slot_hours=0.5,
        battery={
            "capacity_kwh": 13.5,
            "max_charge_w": 5000,
            "max_discharge_w": 5000,
            "soc_min": 0.1,
        },
        cycle_cost_per_kwh=0.02,
        final_soc_min=0.4,
    )


def test_long_horizon_solves_to_optimal_with_final_soc_floor() -> None:
    # How fast is benchmarks/backtest_optimum.py's job; here only that it is proven optimal.
    plan = solve_plan(month_inputs(700))
    assert len(plan.slots) == 700 and plan.status == "Optimal"
    assert plan.slots[-1].soc_end >= 0.4 - EPS
    assert {"hold", "self_use"} <= set(modes(plan))


# --- LP anti-flip ----------------------------------------------------------------------------

TWIN: dict[str, Any] = dict(load=[0, 0, 3000], battery={"capacity_kwh": 2.0, "max_charge_w": 3000})
FILL_W = 2000 / 0.9  # AC power that fills 2 kWh in one 1 h slot


def charge_slot(plan: Plan) -> int:
    charging = [t for t, s in enumerate(plan.slots) if s.mode == "force_charge"]
    assert len(charging) == 1, modes(plan)
    return charging[0]


@pytest.mark.parametrize("kept", [0, 1])
def test_incumbent_kept_between_equal_alternatives(kept: int) -> None:
    inc: list[float | None] = [0.0, 0.0, -1800.0]
    inc[kept] = FILL_W
    plan = solve_plan(
        make([0.10, 0.10, 0.50], **TWIN, incumbent_battery_w=inc, switch_penalty_per_kwh=0.01)
    )
    assert charge_slot(plan) == kept
    assert plan.slots[kept].battery_w == pytest.approx(FILL_W)
    # Without a penalty the two plans cost the same: either may come out.
    free = solve_plan(make([0.10, 0.10, 0.50], **TWIN, incumbent_battery_w=inc))
    assert free.objective == pytest.approx(plan.objective, abs=1e-6)


@pytest.mark.parametrize("penalty, slot", [(0.02, 1), (0.005, 0), (0.0, 0)])
def test_better_alternative_wins_only_by_more_than_the_penalty(penalty: float, slot: int) -> None:
    # Incumbent charges at 12c; 10c saves 2.22 kWh x 2c = 4.4c, switching moves 2 x 2.22 kWh.
    plan = solve_plan(
        make(
            [0.10, 0.12, 0.50],
            **TWIN,
            incumbent_battery_w=[0, FILL_W, None],
            switch_penalty_per_kwh=penalty,
        )
    )
    assert charge_slot(plan) == slot


def test_anti_flip_stays_on_the_relaxed_path() -> None:
    inp = make(
        [0.10, 0.10, 0.50],
        **TWIN,
        incumbent_battery_w=[0, FILL_W, None],
        switch_penalty_per_kwh=0.01,
    )
    from nodes.planning.formulation import build_model

    pm = build_model(inp)
    assert all(c in pm.indicators for c, i in enumerate(pm.lm.integer) if i)


# --- horizon length ----------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 7, 95, 97])
def test_any_horizon_length(n: int) -> None:
    inp = month_inputs(n)
    inp = replace(
        inp, options=replace(inp.options, final_soc_min=None, reserve=[(range(0, 200), 0.2)])
    )
    plan = solve_plan(inp)
    assert len(plan.slots) == n


class FakeScope(dict[str, Any]):
    def peek(self, key: str, default: Any = None) -> Any:
        return self.get(key, default)


def planner(previous: dict[str, Any] | None, **config: Any) -> Planner:
    settings = {
        "battery": dict(
            capacity_kwh=10.0,
            max_charge_w=3000,
            max_discharge_w=3000,
            charge_efficiency=0.95,
            discharge_efficiency=0.95,
            soc_min=0.1,
            soc_max=1.0,
        ),
        "grid": dict(max_import_w=10000, max_export_w=5000),
    }
    globals_ = FakeScope(telemetry={"soc": 0.5})
    if previous is not None:
        globals_["plan"] = previous
    clock = VirtualClock(datetime(2025, 1, 1, tzinfo=UTC).timestamp())
    ctx = SimpleNamespace(settings=settings, globals=globals_, clock=clock)
    return Planner(ctx, config)


def test_node_truncates_to_known_prices_and_passes_incumbent() -> None:
    start = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())
    previous = solve_plan(make([0.1, 0.5, 0.1, 0.5], [0.0, 0.4, 0.0, 0.4], slot_hours=0.5))
    forecast = {
        "start": start + 1800,
        "slot_seconds": 1800,
        "import_price": [0.5, 0.1, 0.5],  # prices known for 3 slots only
        "export_price": [0.4, 0.0, 0.4, 0.0],
        "pv_w": [0.0] * 5,
        "load_w": [300.0] * 5,
    }
    inp, held, _ = planner(previous.to_dict())._inputs(forecast)
    assert held == [None, None, None]  # no override, no schedule
    assert inp.n_slots == 3 and len(inp.pv_w) == 3
    assert inp.options.switch_penalty_per_kwh == 0.001
    assert inp.options.incumbent_battery_w == [s.battery_w for s in previous.slots[1:]]
    assert inp.slot_starts[0] == datetime(2025, 1, 1, 0, 30, tzinfo=UTC)
    assert solve_plan(inp).slots[0].start == inp.slot_starts[0]
    fresh, _, _ = planner(None, switch_penalty_per_kwh=0.0)._inputs(forecast)
    assert fresh.options.incumbent_battery_w is None
    assert fresh.options.switch_penalty_per_kwh == 0.0


def test_horizon_start_is_shifted_forward_in_time() -> None:
    # A slot that starts half an hour later is a different slot: nothing assumes 96 slots
    # or a fixed grid of starts.
    start = datetime(2025, 1, 1, tzinfo=UTC)
    inp = make([0.3] * 3, slot_hours=0.5)
    shifted = replace(inp, slot_starts=[start + timedelta(minutes=30 * (t + 1)) for t in range(3)])
    assert len(solve_plan(shifted).slots) == 3
