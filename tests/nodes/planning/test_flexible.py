"""Flexible loads (a car, a hot-water diverter) placed by the plan: hand-checkable cases.

1 h slots, a 10 kWh battery moving 2 kW either way at 90 % each way, 10 kW import and
5 kW export (tests/nodes/planning/test_model.make).
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nodes.planning import FlexibleLoad, PlanInputs, solve_plan
from nodes.planning.formulation import build_model
from nodes.planning.inputs import HARD_SHORTFALL_PRICE
from nodes.planning.result import Plan
from tests.nodes.planning.test_model import make


def with_loads(inp: PlanInputs, *loads: FlexibleLoad) -> PlanInputs:
    return replace(inp, flexible=loads)


def car(**kw: object) -> FlexibleLoad:
    spec: dict[str, object] = dict(name="car", max_w=7000, energy_kwh=10.0, window=(0, 3))
    spec.update(kw)
    return FlexibleLoad(**spec)  # type: ignore[arg-type]


def power(plan: Plan, name: str = "car") -> list[float]:
    (found,) = [f for f in plan.flexible if f.name == name]
    return found.power_w


def test_the_energy_goes_in_the_cheapest_hours_at_up_to_the_charger_limit() -> None:
    # 10 kWh by the end of slot 3 at up to 7 kW: 7 kWh in the 10c hour, 3 in the 20c one
    # (no house battery here: with one, it would buy at 10c for the car's 40c hour).
    no_battery = {"max_charge_w": 0, "max_discharge_w": 0}
    inp = with_loads(make([0.30, 0.20, 0.10, 0.40], battery=no_battery), car())
    plan = solve_plan(inp)
    assert power(plan) == pytest.approx([0, 3000, 7000, 0], abs=1e-3)
    (placed,) = plan.flexible
    assert placed.planned_kwh == pytest.approx(10.0)
    assert placed.met and placed.shortfall_kwh == 0
    assert plan.total_cost == pytest.approx(3 * 0.20 + 7 * 0.10, abs=1e-6)


def test_the_model_has_no_binaries_of_its_own() -> None:
    # No battery that can both charge and discharge, no export: the car alone is an LP.
    inp = with_loads(make([0.30, 0.20], battery={"max_discharge_w": 0}, grid={"max_export_w": 0}))
    inp = replace(inp, flexible=(car(window=(0, 1), energy_kwh=3.0),))
    assert not any(build_model(inp).lm.integer)


def test_a_power_below_the_charger_minimum_is_planned_as_a_share_of_the_slot() -> None:
    # 1 kWh in one hour with a 1.4 kW minimum: planned as 1 kW on average (control runs it
    # at 1.4 kW for 43 minutes), not refused and not rounded up to 1.4 kWh.
    inp = with_loads(make([0.20]), car(window=(0, 0), energy_kwh=1.0, min_w=1400))
    assert power(solve_plan(inp)) == pytest.approx([1000])


def test_solar_only_never_imports_for_the_car() -> None:
    # Sun in slots 1-2 (4 kW over a 1 kW house), none in 0 and 3; import is cheap at
    # night. Solar-only, the car takes only the 3 kW surplus of slots 1 and 2, and is
    # 4 kWh short of 10 (reported, not imported at the 5c night price).
    pv = [0.0, 4000.0, 4000.0, 0.0]
    load = [1000.0] * 4
    inp = make(
        [0.05, 0.30, 0.30, 0.05],
        [0.0] * 4,
        pv=pv,
        load=load,
        soc_now=0.0,
        battery={"max_charge_w": 0, "max_discharge_w": 0},
    )
    plan = solve_plan(with_loads(inp, car(solar_only=True, hard=False)))
    assert power(plan) == pytest.approx([0, 3000, 3000, 0], abs=1e-3)
    for slot, house in zip(plan.slots, load, strict=True):
        assert slot.grid_import_w <= house + 1e-3
    (placed,) = plan.flexible
    assert placed.shortfall_kwh == pytest.approx(4.0)
    assert not placed.met


def test_solar_only_with_a_battery_the_car_gets_no_stored_energy() -> None:
    # A full battery and a dear evening: it serves the house, never the solar-only car.
    inp = make([0.50, 0.50], pv=[0, 0], load=[1000, 1000], soc_now=1.0)
    plan = solve_plan(with_loads(inp, car(window=(0, 1), energy_kwh=4.0, solar_only=True)))
    assert power(plan) == pytest.approx([0, 0], abs=1e-6)
    for slot in plan.slots:
        assert slot.battery_discharge_w - slot.grid_export_w <= 1000 + 1e-3


def test_the_house_battery_is_not_discharged_into_the_car_when_told_so() -> None:
    # Evening at 50c, the battery full (10 kWh, 2 kW), the house 500 W. Allowed, the
    # battery runs at its 2 kW limit and 1.5 kW of it goes into the car; kept off it,
    # the battery serves the house alone and the car imports all of its 4 kWh.
    inp = make([0.50, 0.50], pv=[0, 0], load=[500, 500], soc_now=1.0)
    drained = solve_plan(with_loads(inp, car(window=(0, 1), energy_kwh=4.0)))
    assert max(s.battery_discharge_w for s in drained.slots) == pytest.approx(2000)
    kept = solve_plan(with_loads(inp, car(window=(0, 1), energy_kwh=4.0, from_battery=False)))
    for slot in kept.slots:
        assert slot.battery_discharge_w - slot.grid_export_w <= 500 + 1e-3
    assert sum(s.grid_import_w for s in kept.slots) == pytest.approx(4000)
    assert sum(power(kept)) == pytest.approx(4000)


def test_an_impossible_hard_target_is_reported_short_and_the_plan_still_solves() -> None:
    # 20 kWh in two hours at 7 kW: 14 kWh is all that fits.
    inp = with_loads(make([0.20, 0.20]), car(window=(0, 1), energy_kwh=20.0))
    plan = solve_plan(inp)
    (placed,) = plan.flexible
    assert placed.planned_kwh == pytest.approx(14.0)
    assert placed.shortfall_kwh == pytest.approx(6.0)
    assert placed.hard and placed.shortfall_price == HARD_SHORTFALL_PRICE
    assert power(plan) == pytest.approx([7000, 7000])


def test_a_soft_target_is_left_short_where_energy_costs_more_than_its_price() -> None:
    # Import at 80c, shortfall priced at 50c: cheaper to leave the car short.
    inp = with_loads(make([0.80]), car(window=(0, 0), energy_kwh=2.0, hard=False))
    (placed,) = solve_plan(inp).flexible
    assert placed.planned_kwh == pytest.approx(0.0, abs=1e-6)
    assert placed.shortfall_kwh == pytest.approx(2.0)


def test_two_loads_share_the_surplus_and_the_plan_round_trips() -> None:
    hot_water = FlexibleLoad("hot_water", 3600, 3.0, (0, 1), solar_only=True, hard=False)
    inp = make([0.30, 0.30], pv=[5000, 5000], load=[500, 500], soc_now=1.0)
    plan = solve_plan(with_loads(inp, car(window=(0, 1), energy_kwh=2.0), hot_water))
    assert sum(power(plan, "hot_water")) == pytest.approx(3000)
    assert sum(power(plan)) == pytest.approx(2000)
    assert Plan.from_dict(plan.to_dict()).flexible == plan.flexible


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"min_w": 8000}, "min_w <= max_w"),
        ({"energy_kwh": -1.0}, "energy_kwh must be >= 0"),
        ({"window": (3, 1)}, "window (3, 1)"),
    ],
)
def test_bad_loads_are_refused_with_their_name(kw: dict[str, object], message: str) -> None:
    with pytest.raises(
        ValueError, match=r"car: .*" + message.replace("(", r"\(").replace(")", r"\)")
    ):
        car(**kw)


def test_a_window_past_the_horizon_is_refused() -> None:
    with pytest.raises(ValueError, match="car: window"):
        with_loads(make([0.2, 0.2]), car(window=(0, 5)))


@settings(max_examples=40, deadline=None)
@given(
    prices=st.lists(st.floats(-0.2, 1.0), min_size=4, max_size=4),
    pv=st.lists(st.floats(0, 6000), min_size=4, max_size=4),
    energy=st.floats(0, 30),
    solar_only=st.booleans(),
    from_battery=st.booleans(),
    soc=st.floats(0, 1),
)
def test_the_car_never_exceeds_its_charger_and_the_battery_stays_in_its_limits(
    prices: list[float],
    pv: list[float],
    energy: float,
    solar_only: bool,
    from_battery: bool,
    soc: float,
) -> None:
    load = [800.0] * 4
    inp = make(prices, [p - 0.1 for p in prices], pv=pv, load=load, soc_now=soc)
    load_spec = car(energy_kwh=energy, solar_only=solar_only, from_battery=from_battery)
    plan = solve_plan(with_loads(inp, load_spec))
    (placed,) = plan.flexible
    assert all(-1e-6 <= w <= 7000 + 1e-3 for w in placed.power_w)
    assert placed.planned_kwh + placed.shortfall_kwh == pytest.approx(energy, abs=1e-4)
    for slot, house in zip(plan.slots, load, strict=True):
        assert 0 - 1e-6 <= slot.soc_end <= 1 + 1e-6
        if not from_battery or solar_only:
            # What the battery gives beyond what it exports serves the house alone.
            assert slot.battery_discharge_w - slot.grid_export_w <= house + 1e-3
        if solar_only:
            # The grid feeds the house and the battery, never the car.
            assert slot.grid_import_w - slot.battery_charge_w <= house + 1e-3


def test_the_first_slot_holds_only_what_is_left_of_it() -> None:
    # A plan made with a quarter of slot 0 left: at most 7 kW x 0.25 on average there.
    inp = with_loads(make([0.10, 0.30]), car(window=(0, 1), energy_kwh=8.0, first_share=0.25))
    assert power(solve_plan(inp)) == pytest.approx([1750, 6250], abs=1e-3)
