"""The two baselines a billing cycle is compared with, checked by hand."""

from __future__ import annotations

import pytest

from nodes.ledger.counterfactual import BatteryModel, SelfUseShadow, no_battery

BATTERY = BatteryModel(
    capacity_kwh=10,
    max_charge_w=5000,
    max_discharge_w=5000,
    charge_efficiency=0.9,
    discharge_efficiency=0.9,
    soc_min=0.1,
    soc_max=1.0,
)


def test_no_battery_buys_the_deficit_and_sells_the_surplus() -> None:
    bought = no_battery(0.2, 0.5, 0.30, 0.05)
    assert bought.import_kwh == pytest.approx(0.3) and bought.export_kwh == 0.0
    assert bought.cost == pytest.approx(0.09)
    sold = no_battery(0.5, 0.1, 0.30, -0.10)  # negative feed-in: exporting costs
    assert sold.export_kwh == pytest.approx(0.4) and sold.cost == pytest.approx(0.04)


def test_self_use_charges_from_surplus_then_serves_the_evening() -> None:
    shadow = SelfUseShadow(stored_kwh=1.0)  # at soc_min
    # Midday, one hour: 3 kWh surplus, all into the battery (2.7 kWh stored after losses).
    shadow, midday = shadow.step(
        BATTERY, 1.0, pv_kwh=4.0, load_kwh=1.0, import_price=0.3, export_price=0.05
    )
    assert midday.import_kwh == 0.0 and midday.export_kwh == pytest.approx(0.0)
    assert midday.cost == pytest.approx(0.0)
    assert shadow.stored_kwh == pytest.approx(3.7)
    # Evening: 3 kWh load; the battery gives (3.7 - 1.0) * 0.9 = 2.43 kWh, the grid the rest.
    shadow, evening = shadow.step(
        BATTERY, 1.0, pv_kwh=0.0, load_kwh=3.0, import_price=0.4, export_price=0.05
    )
    assert evening.import_kwh == pytest.approx(0.57)
    assert evening.cost == pytest.approx(0.57 * 0.4)
    assert shadow.stored_kwh == pytest.approx(1.0)  # back at its floor


def test_self_use_exports_what_a_full_battery_cannot_take() -> None:
    full = SelfUseShadow(stored_kwh=10.0)
    after, priced = full.step(
        BATTERY, 0.5, pv_kwh=2.0, load_kwh=0.5, import_price=0.3, export_price=0.08
    )
    assert after.stored_kwh == 10.0 and priced.export_kwh == pytest.approx(1.5)
    assert priced.cost == pytest.approx(-0.12)
    assert SelfUseShadow.from_dict(after.as_dict()) == after
