"""Ledger entries of one interval, every kind by hand, and the bill they add up to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from nodes.ledger import (
    COUNTERS,
    KINDS,
    CostBasis,
    IntervalEnergy,
    IntervalLedger,
    IntervalPrices,
    LedgerEvent,
    idempotency_key,
    interval_events,
)

END = datetime(2026, 11, 25, 10, 5, tzinfo=UTC)
START = END - timedelta(minutes=5)
BRISBANE = ZoneInfo("Australia/Brisbane")


def energy(**kwh: float) -> IntervalEnergy:
    return IntervalEnergy(**{name: kwh.get(name, 0.0) for name in COUNTERS})


def ledger(
    e: IntervalEnergy,
    import_price: float,
    export_price: float,
    basis: CostBasis | None = None,
    *,
    eta_charge: float = 1.0,
    eta_discharge: float = 1.0,
    end: datetime = END,
) -> IntervalLedger:
    return interval_events(
        end - timedelta(minutes=5),
        end,
        e,
        IntervalPrices(import_price, export_price),
        basis or CostBasis(),
        eta_charge=eta_charge,
        eta_discharge=eta_discharge,
    )


def kinds(result: IntervalLedger) -> dict[str, LedgerEvent]:
    return result.by_kind()


def test_evening_discharge_to_load_and_grid() -> None:
    # 1.5 kWh AC out at 90 %: 1.6667 stored kWh at $0.15 = $0.25 of basis, 2/3 of it to load.
    result = ledger(
        energy(load=1.0, battery_discharge=1.5, grid_export=0.5),
        0.40,
        0.10,
        CostBasis(stored_kwh=10.0, basis=0.15),
        eta_discharge=0.9,
    )
    e = kinds(result)
    assert e["import_cost"].amount == 0.0
    assert e["export_revenue"].amount == pytest.approx(0.05)
    assert e["self_consumption_saving"].kwh == 1.0
    assert e["self_consumption_saving"].amount == pytest.approx(0.40)
    assert e["battery_discharge_load"].detail["basis_cost"] == pytest.approx(0.25 * 2 / 3)
    assert e["battery_discharge_load"].amount == pytest.approx(0.40 - 0.25 * 2 / 3)
    assert e["battery_discharge_grid"].kwh == 0.5
    assert e["battery_discharge_grid"].amount == pytest.approx(0.05 - 0.25 / 3)  # a loss
    assert e["arbitrage_pnl"].kwh == 1.5
    assert e["arbitrage_pnl"].amount == pytest.approx(0.45 - 0.25)
    assert result.basis_after.stored_kwh == pytest.approx(10.0 - 1.5 / 0.9)
    assert result.basis_after.basis == 0.15
    assert result.note is None


def test_midday_charging_from_solar_and_grid() -> None:
    result = ledger(
        energy(pv=1.0, load=0.5, battery_charge=2.5, grid_import=2.0), 0.20, 0.05, eta_charge=0.9
    )
    e = kinds(result)
    assert e["import_cost"].amount == pytest.approx(-0.40)
    assert e["self_consumption_saving"].amount == pytest.approx(0.10)  # 0.5 kWh of pv at 0.20
    assert e["battery_charge_grid"].kwh == 2.0
    assert e["battery_charge_grid"].amount == pytest.approx(-0.40)
    assert e["battery_charge_grid"].detail["stored_kwh"] == pytest.approx(1.8)
    assert e["battery_charge_solar"].kwh == 0.5
    assert e["battery_charge_solar"].amount == pytest.approx(-0.025)  # feed-in forgone
    assert e["battery_charge_solar"].detail["stored_kwh"] == pytest.approx(0.45)
    assert e["arbitrage_pnl"].amount == 0.0
    assert result.basis_after.stored_kwh == pytest.approx(2.25)
    assert result.basis_after.basis == pytest.approx(0.425 / 2.25)


def test_negative_export_price_exporting_costs_and_solar_charging_saves() -> None:
    result = ledger(energy(pv=2.0, load=0.5, battery_charge=0.5, grid_export=1.0), -0.05, -0.10)
    e = kinds(result)
    assert e["export_revenue"].amount == pytest.approx(-0.10)  # paid to export
    assert e["battery_charge_solar"].amount == pytest.approx(0.05)  # kept 0.5 kWh off the grid
    assert e["self_consumption_saving"].amount == pytest.approx(-0.025)
    assert result.basis_after.basis == pytest.approx(-0.10)


def test_negative_import_price_importing_earns() -> None:
    result = ledger(energy(load=1.0, battery_charge=2.0, grid_import=3.0), -0.05, 0.0)
    e = kinds(result)
    assert e["import_cost"].amount == pytest.approx(0.15)
    assert e["battery_charge_grid"].amount == pytest.approx(0.10)
    assert result.basis_after.basis == pytest.approx(-0.05)
    assert result.bill == pytest.approx(0.15)


def test_charged_and_discharged_in_one_interval_carries_its_own_cost() -> None:
    result = ledger(
        energy(load=1.0, battery_charge=1.0, battery_discharge=1.0, grid_import=1.0), 0.30, 0.05
    )
    e = kinds(result)
    assert e["arbitrage_pnl"].detail["basis_cost"] == pytest.approx(0.30)
    assert e["arbitrage_pnl"].amount == pytest.approx(0.0)
    assert result.note is None


def test_discharge_the_ledger_never_saw_charged_is_said() -> None:
    result = ledger(energy(load=1.0, battery_discharge=1.0), 0.30, 0.05)
    e = kinds(result)
    assert e["arbitrage_pnl"].detail["shortfall_kwh"] == 1.0
    assert e["arbitrage_pnl"].amount == pytest.approx(0.30)  # no basis to set against it
    assert result.note is not None and "no cost" in result.note


def test_bill_is_exactly_what_the_retailer_computes() -> None:
    intervals = [
        (energy(pv=0.4, load=0.9, grid_import=0.5), 0.2874, 0.0512),
        (energy(pv=2.3, load=0.6, battery_charge=1.1, grid_export=0.6), -0.0331, -0.0107),
        (energy(load=1.3, battery_discharge=2.2, grid_export=0.9), 1.4203, 0.9876),
        (energy(load=0.7, battery_charge=3.1, grid_import=3.8), 0.1117, 0.0299),
    ]
    basis = CostBasis()
    ours, retailer = [], []
    for n, (e, imp, exp) in enumerate(intervals):
        result = ledger(
            e,
            imp,
            exp,
            basis,
            eta_charge=0.95,
            eta_discharge=0.95,
            end=END + timedelta(minutes=5 * n),
        )
        basis = result.basis_after
        cash = {ev.kind: ev.amount for ev in result.events if ev.cash}
        assert set(cash) == {"import_cost", "export_revenue"}
        assert -cash["import_cost"] == e.grid_import * imp  # what the bill charges, exactly
        assert cash["export_revenue"] == e.grid_export * exp  # what the bill credits, exactly
        ours.append(result.bill)
        retailer.append(e.grid_export * exp - e.grid_import * imp)
    assert ours == retailer


def test_every_kind_every_interval_keyed_by_end_and_kind() -> None:
    result = ledger(energy(load=1.0, grid_import=1.0), 0.3, 0.05)
    assert tuple(ev.kind for ev in result.events) == KINDS
    keys = [ev.key for ev in result.events]
    assert len(set(keys)) == len(KINDS)
    assert keys[0] == "2026-11-25T10:05:00+00:00/import_cost"
    assert all(ev.at == START.timestamp() for ev in result.events)


def test_posting_the_same_interval_twice_gives_the_same_keys() -> None:
    first = ledger(energy(load=1.0, grid_import=1.0), 0.3, 0.05)
    again = ledger(energy(load=1.0, grid_import=1.0), 0.3, 0.05, end=END.astimezone(BRISBANE))
    later = ledger(energy(load=1.0, grid_import=1.0), 0.3, 0.05, end=END + timedelta(minutes=5))
    assert [e.key for e in first.events] == [e.key for e in again.events]
    assert not {e.key for e in first.events} & {e.key for e in later.events}
    assert idempotency_key(END.astimezone(BRISBANE), "x") == "2026-11-25T10:05:00+00:00/x"


def test_as_dict_is_plain_data_with_the_inputs() -> None:
    ev = kinds(ledger(energy(grid_import=2.0, load=2.0), 0.25, 0.05))["import_cost"].as_dict()
    assert ev == {
        "key": "2026-11-25T10:05:00+00:00/import_cost",
        "kind": "import_cost",
        "at": START.timestamp(),
        "interval_end": "2026-11-25T10:05:00+00:00",
        "kwh": 2.0,
        "price": 0.25,
        "amount": -0.5,
        "cash": True,
        "detail": {"grid_import_kwh": 2.0, "import_price": 0.25},
    }


def test_bad_times_and_prices_are_refused() -> None:
    with pytest.raises(ValueError, match="has no timezone"):
        idempotency_key(datetime(2026, 11, 25, 10, 5), "import_cost")
    with pytest.raises(ValueError, match="is not before end"):
        interval_events(
            END,
            END,
            energy(),
            IntervalPrices(0.2, 0.05),
            CostBasis(),
            eta_charge=1.0,
            eta_discharge=1.0,
        )
    with pytest.raises(ValueError, match=r"IntervalPrices.export_price: must be finite"):
        IntervalPrices(0.2, float("inf"))
