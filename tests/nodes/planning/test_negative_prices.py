"""Hand-checkable plans at negative prices, within what a Fox KH can carry out.

A KH in remote control curtails PV only while its battery takes all it may: at the
charge limit (41007, which control lowers to the planned charge when it curtails) or
full. So a plan may curtail PV and run the house from the grid when importing pays, and
it never curtails while the battery discharges. 1 h slots, a 10 kWh battery moving
2 kW either way at 90 % each way (tests/nodes/planning/test_model.make).
"""

from __future__ import annotations

import pytest

from nodes.planning import solve_plan
from nodes.planning.explain import SlotFlows, derive_mode
from tests.nodes.planning.test_model import make


def test_paid_to_import_curtails_all_pv_and_charges_from_the_grid_at_the_limit() -> None:
    # Import -10c, export -20c, 5 kW of PV and 1 kW of load, battery empty: the best
    # is to be paid for 2 kW into the battery and the 1 kW the house uses, and to
    # leave the PV unused (exporting it would cost 20c a kWh).
    plan = solve_plan(make([-0.10], [-0.20], pv=[5000], load=[1000], soc_now=0.0))
    s = plan.slots[0]
    assert s.pv_curtailed_w == pytest.approx(5000)
    assert s.grid_import_w == pytest.approx(3000)
    assert s.battery_w == pytest.approx(2000)
    assert s.grid_export_w == pytest.approx(0.0)
    assert s.mode == "force_charge"
    assert plan.total_cost == pytest.approx(3 * -0.10)


def test_paid_to_import_with_a_full_battery_the_house_runs_from_the_grid() -> None:
    plan = solve_plan(make([-0.10], [-0.20], pv=[5000], load=[1000], soc_now=1.0))
    s = plan.slots[0]
    assert s.pv_curtailed_w == pytest.approx(5000)
    assert s.grid_import_w == pytest.approx(1000)
    assert s.battery_w == pytest.approx(0.0, abs=1e-6)
    # Not self-use: the inverter's own modes would serve the house from PV.
    assert s.mode == "hold"


def test_negative_feed_in_alone_keeps_pv_for_the_house() -> None:
    # Import pays 30c: PV still serves the house; only the surplus is curtailed.
    plan = solve_plan(make([0.30], [-0.05], pv=[5000], load=[1000], soc_now=1.0))
    s = plan.slots[0]
    assert s.grid_import_w == pytest.approx(0.0)
    assert s.pv_curtailed_w == pytest.approx(4000)


def test_pv_is_never_curtailed_while_the_battery_discharges() -> None:
    # Slot 0 imports at -10c; slot 1 is dear. Curtailing PV while discharging is nothing
    # a KH can do, so where the plan discharges it uses all of the PV.
    plan = solve_plan(
        make([-0.10, 0.50], [-0.20, 0.0], pv=[3000, 1000], load=[1000, 3000], soc_now=0.5)
    )
    for s in plan.slots:
        if s.battery_discharge_w > 1:
            assert s.pv_curtailed_w == pytest.approx(0.0, abs=1e-6)


def test_a_paid_import_slot_is_not_labelled_self_use() -> None:
    flows = SlotFlows(
        grid_to_batt=0.0,
        batt_to_grid=0.0,
        batt_to_load=0.0,
        grid_to_load=1000.0,
        pv_to_grid=0.0,
        pv_curtail=5000.0,
        charge=0.0,
        discharge=0.0,
        selfuse_battery_w=0.0,
    )
    assert derive_mode(flows, export_price=-0.2)[0] == "hold"
