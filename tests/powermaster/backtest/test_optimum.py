"""The perfect-knowledge optimum on a hand-checkable scenario and one real week."""

from __future__ import annotations

import pytest

from powermaster.backtest.builder import perfect_scenarios
from powermaster.backtest.capture import check_result
from powermaster.backtest.optimum import optimum, optimum_bill
from powermaster.backtest.scenario import Scenario
from tests.powermaster.backtest.scenarios import as_result, no_battery_bill, tiny


def test_charges_cheap_then_discharges_dear() -> None:
    s = Scenario.from_dict(tiny())  # 1 kW load; 0.10 $/kWh then 0.50 $/kWh
    best = optimum(s)
    modes = [(p.battery_charge_w > 0, p.battery_discharge_w > 0) for p in best.plan.slots]
    assert modes[0][0] or modes[1][0]  # charges while cheap
    assert modes[2] == (False, True) and modes[3] == (False, True)  # covers the dear load
    assert best.soc_final >= s.battery.soc_initial - 1e-9
    # 1 kWh cheap load + the 1 kWh dear load shifted through two 0.95 conversions.
    assert best.bill == pytest.approx(0.1 + 0.1 / 0.95**2, abs=1e-6)
    assert best.bill < no_battery_bill(s) == pytest.approx(0.6)
    assert check_result(as_result(s, best), s) == []


def test_cycle_cost_can_make_the_battery_idle() -> None:
    d = tiny()
    d["battery"]["cycle_cost_per_kwh"] = 1.0  # wear dearer than the spread
    s = Scenario.from_dict(d)
    assert optimum_bill(s) == pytest.approx(0.6, abs=1e-6)


def test_never_drains_below_the_start() -> None:
    # Only dear slots: draining would pay, but the optimum must end where it began.
    s = Scenario.from_dict(tiny(import_price=[0.5] * 4))
    best = optimum(s)
    assert best.soc_final == pytest.approx(0.5, abs=1e-6)
    assert best.bill == pytest.approx(no_battery_bill(s), abs=1e-6)


def test_real_week_beats_no_battery_and_balances() -> None:
    s = next(x for x in perfect_scenarios() if x.name == "qld-real-2025-07-17")
    best = optimum(s)
    assert best.bill < no_battery_bill(s)
    assert best.soc_final >= s.battery.soc_initial - 1e-6
    assert check_result(as_result(s, best), s) == []
