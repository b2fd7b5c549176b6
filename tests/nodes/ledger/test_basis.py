"""The cost basis published for the control, and how it carries across a gap."""

from __future__ import annotations

import pytest

from nodes.ledger.basis import across_gap, basis_reading, stored_energy
from nodes.ledger.counterfactual import BatteryModel, SelfUseShadow
from nodes.ledger.flows import IntervalEnergy
from nodes.ledger.wacb import CostBasis

BATTERY = BatteryModel(
    capacity_kwh=10,
    max_charge_w=5000,
    max_discharge_w=5000,
    charge_efficiency=0.9,
    discharge_efficiency=0.9,
    soc_min=0.1,
    soc_max=1.0,
)


def test_stored_energy_is_soc_times_capacity() -> None:
    assert stored_energy({"soc": 0.42}, BATTERY) == pytest.approx(4.2)
    assert stored_energy({"soc": 1.3}, BATTERY) == 10.0  # a garbled SOC never exceeds capacity
    assert stored_energy({"soc": None}, BATTERY) is None
    assert stored_energy({}, BATTERY) is None


def test_the_published_basis_is_none_while_nothing_is_accounted_as_stored() -> None:
    assert basis_reading(CostBasis(5.0, 0.21), 100.0) == {
        "per_kwh": 0.21,
        "stored_kwh": 5.0,
        "at": 100.0,
    }
    assert basis_reading(CostBasis(0.0, 0.0), 100.0)["per_kwh"] is None


def test_a_gap_keeps_the_price_and_takes_the_energy_the_battery_now_holds() -> None:
    basis = CostBasis(stored_kwh=6.0, basis=0.18)
    moved = IntervalEnergy(
        pv=3.0,
        load=1.0,
        grid_import=0.0,
        grid_export=0.0,
        battery_charge=2.0,
        battery_discharge=0.0,
    )
    after, shadow = across_gap(basis, SelfUseShadow(5.0), BATTERY, moved, 3600, stored_now=7.8)
    assert after == CostBasis(stored_kwh=7.8, basis=0.18)
    # The shadow battery ran the hour on the counters' PV and load: 2 kWh surplus, 1.8 stored.
    assert shadow.stored_kwh == pytest.approx(6.8)
    # Nothing readable: both carry on as they were.
    assert across_gap(basis, SelfUseShadow(5.0), BATTERY, None, 3600, None) == (
        basis,
        SelfUseShadow(5.0),
    )
