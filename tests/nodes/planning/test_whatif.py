"""An override's cost against the plan, on cases checked by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nodes.planning.held import override_battery_w
from nodes.planning.model import solve_plan
from nodes.planning.plan import plan_inputs
from nodes.planning.whatif import override_cost
from powermaster.config import merge_defaults

T0 = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
STEP = 1800
#: No wear and no break-even margin: the figures are the prices' alone.
SETTINGS = merge_defaults({"planner": {"cycle_cost_per_kwh": 0.0, "break_even_delta": 0.0}})


def planned(import_price: list[float], load_w: float = 1000.0, soc: float = 0.5) -> dict[str, Any]:
    """The plan the planner makes on these prices (a flat load, no PV), in stored form."""
    n = len(import_price)
    forecast = {
        "start": T0,
        "slot_seconds": STEP,
        "import_price": import_price,
        "export_price": [0.0] * n,
        "pv_w": [0.0] * n,
        "load_w": [load_w] * n,
    }
    plan = solve_plan(plan_inputs(SETTINGS, forecast, soc)).to_dict()
    for slot in plan["slots"]:
        slot["pv_w"], slot["load_w"] = 0.0, load_w
    return plan


def test_charging_from_the_grid_at_a_flat_price_costs_its_losses() -> None:
    """Flat 30c: 2 kW for an hour stores 2 kWh x 0.95 bought at 60c, worth 1.9 kWh x
    0.95 x 30c (the terminal value) at the end: the difference is the round trip's loss."""
    plan = planned([0.30] * 8)
    cost = override_cost(plan, SETTINGS, 0.5, T0, "force_charge", 2000, T0 + 3600)
    bought = 2.0 * 0.30
    kept = 2.0 * 0.95 * 0.95 * 0.30  # stored, then worth the price it displaces
    assert cost.slots == 2 and cost.shortfall_kwh == pytest.approx(0.0, abs=1e-6)
    assert cost.delta == pytest.approx(bought - kept, abs=0.02)
    assert cost.delta > 0


def test_holding_through_the_peak_the_plan_discharges_into_costs_the_peak() -> None:
    """Dear now (50c), cheap later (10c): the plan discharges now; holding makes the house
    buy at 50c instead, and the energy kept is worth less later."""
    plan = planned([0.50] * 2 + [0.10] * 6)
    cost = override_cost(plan, SETTINGS, 0.5, T0, "hold", 0, T0 + 3600)
    assert cost.delta == pytest.approx(0.50 - 0.10, abs=0.02)  # 1 kWh bought at 50c, kept
    # in the battery instead, where it displaces 10c later


def test_an_override_that_does_what_the_plan_does_costs_nothing() -> None:
    plan = planned([0.50] * 2 + [0.10] * 6)
    first = plan["slots"][0]
    assert first["battery_w"] < 0  # the plan discharges into the dear hour
    cost = override_cost(plan, SETTINGS, 0.5, T0, "force_discharge", -first["battery_w"], T0 + STEP)
    assert cost.delta == pytest.approx(0.0, abs=0.005)


def test_a_charge_a_full_battery_cannot_take_is_a_shortfall_not_an_error() -> None:
    plan = planned([0.30] * 8, soc=1.0)
    cost = override_cost(plan, SETTINGS, 1.0, T0, "force_charge", 5000, T0 + 3600)
    assert cost.shortfall_kwh > 4.0  # 5 kW for an hour, and no room
    assert abs(cost.delta) < 0.05


def test_the_override_starts_at_the_slot_holding_now_and_a_spent_plan_is_refused() -> None:
    plan = planned([0.30] * 8)
    mid = override_cost(plan, SETTINGS, 0.5, T0 + 2.5 * STEP, "hold", 0, T0 + 4 * STEP)
    assert mid.slots == 2  # the slot holding now and the next
    with pytest.raises(ValueError, match="no slot from now on"):
        override_cost(plan, SETTINGS, 0.5, T0 + 9 * STEP, "hold", 0, T0 + 10 * STEP)


def test_an_override_starting_mid_slot_is_planned_by_the_part_of_each_slot_it_covers() -> None:
    """2.5 kW for 2 h from a quarter past: five slots touched, 5 kWh asked in all (the
    first and last slots at half power), never 6.25; a full battery falls short of all 5."""
    plan = planned([0.30] * 8, soc=1.0)
    start = T0 + STEP / 2
    cost = override_cost(plan, SETTINGS, 1.0, start, "force_charge", 2500, start + 4 * STEP)
    assert cost.slots == 5
    assert cost.shortfall_kwh == pytest.approx(5.0, abs=1e-3)


def test_an_override_set_ahead_costs_what_holding_its_window_costs() -> None:
    """Dear in the second hour (50c), cheap after (10c): the plan discharges into the dear
    hour; a hold set ahead for just that hour costs that hour's kWh at 50c instead of 10c,
    and covers its two slots only."""
    plan = planned([0.30] * 2 + [0.50] * 2 + [0.10] * 4)
    ahead = override_cost(plan, SETTINGS, 0.5, T0, "hold", 0, T0 + 4 * STEP, start=T0 + 2 * STEP)
    assert ahead.slots == 2
    assert ahead.delta == pytest.approx(0.50 - 0.10, abs=0.02)


def test_the_battery_power_each_mode_holds() -> None:
    battery = SETTINGS["battery"]
    sunny = {"pv_w": 4000.0, "load_w": 1000.0}
    assert override_battery_w("force_charge", 9000, sunny, battery) == 5000  # its limit
    assert override_battery_w("force_discharge", 2000, sunny, battery) == -2000
    assert override_battery_w("hold", 2000, sunny, battery) == 0
    assert override_battery_w("self_use", 0, sunny, battery) == 3000
    assert override_battery_w("self_use", 0, {"pv_w": 0, "load_w": 800}, battery) == -800


@settings(max_examples=25, deadline=None)
@given(
    prices=st.lists(st.sampled_from([0.05, 0.15, 0.30, 0.55]), min_size=4, max_size=10),
    mode=st.sampled_from(["force_charge", "force_discharge", "hold", "self_use"]),
    power_w=st.integers(0, 6000),
    slots=st.integers(1, 4),
    soc=st.floats(0.1, 1.0),
)
def test_no_override_beats_the_plan(
    prices: list[float], mode: str, power_w: int, slots: int, soc: float
) -> None:
    """The free solve is the optimum from here: an override can only cost, never save
    (to within the solver's gap), and covers the slots it asks for."""
    plan = planned(prices, soc=soc)
    cost = override_cost(plan, SETTINGS, soc, T0, mode, power_w, T0 + slots * STEP)
    assert cost.slots == min(slots, len(prices))
    assert cost.delta >= -0.002
