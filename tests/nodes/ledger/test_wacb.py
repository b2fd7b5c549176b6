"""Weighted average cost basis by hand."""

from __future__ import annotations

import dataclasses
import json

import pytest

from nodes.ledger import BasisError, CostBasis


def test_grid_charge_puts_losses_into_the_basis() -> None:
    state = CostBasis().charge_grid(10.0, 0.20, eta_charge=0.95)
    assert state.stored_kwh == pytest.approx(9.5)
    assert state.basis == pytest.approx(0.2105263157894737)  # $2.00 / 9.5 kWh
    assert state.value == pytest.approx(2.0)


def test_solar_charge_weights_in_at_the_feed_in_forgone() -> None:
    state = CostBasis().charge_grid(10.0, 0.20, 0.95).charge_solar(5.0, 0.05, 0.95)
    assert state.stored_kwh == pytest.approx(14.25)  # 9.5 + 4.75
    assert state.basis == pytest.approx(2.25 / 14.25)  # ($2.00 + $0.25) / 14.25 = 0.1579


def test_discharge_takes_stored_energy_at_the_basis_and_keeps_it() -> None:
    state = CostBasis(stored_kwh=14.25, basis=0.16)
    out = state.discharge(4.75, eta_discharge=0.95)
    assert out.taken_kwh == pytest.approx(5.0)
    assert out.cost == pytest.approx(0.80)
    assert out.after.stored_kwh == pytest.approx(9.25)
    assert out.after.basis == 0.16
    assert out.shortfall_kwh == pytest.approx(0.0) and out.note is None


def test_negative_feed_in_makes_solar_charging_pay() -> None:
    state = CostBasis().charge_solar(10.0, -0.05, eta_charge=1.0)
    assert state.basis == pytest.approx(-0.05)
    state = state.charge_grid(10.0, 0.25, eta_charge=1.0)
    assert state.stored_kwh == pytest.approx(20.0)
    assert state.basis == pytest.approx(0.10)  # (-0.50 + 2.50) / 20


def test_negative_import_price_gives_a_negative_basis() -> None:
    state = CostBasis().charge_grid(10.0, -0.10, eta_charge=0.9)
    assert state.stored_kwh == pytest.approx(9.0)
    assert state.basis == pytest.approx(-1.0 / 9.0)


def test_discharge_beyond_what_is_accounted_takes_what_there_is_and_says_so() -> None:
    out = CostBasis(stored_kwh=2.0, basis=0.30).discharge(3.0, eta_discharge=1.0)
    assert out.taken_kwh == 2.0 and out.shortfall_kwh == pytest.approx(1.0)
    assert out.cost == pytest.approx(0.60)
    assert out.after.stored_kwh == 0.0 and out.after.basis == 0.30
    assert out.note is not None and "1.000 kWh more" in out.note


def test_zero_charge_changes_nothing() -> None:
    state = CostBasis(stored_kwh=3.0, basis=0.2)
    assert state.charge_grid(0.0, 0.5, 0.95) == state
    assert CostBasis().charge_solar(0.0, 0.1, 0.95) == CostBasis()


def test_states_are_immutable_and_charging_returns_a_new_one() -> None:
    before = CostBasis(stored_kwh=1.0, basis=0.1)
    after = before.charge_grid(1.0, 0.3, 1.0)
    assert before == CostBasis(stored_kwh=1.0, basis=0.1)
    assert after.basis == pytest.approx(0.2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        before.basis = 0.5  # type: ignore[misc]


def test_json_round_trip() -> None:
    state = CostBasis().charge_grid(10.0, 0.20, 0.95).charge_solar(5.0, -0.03, 0.95)
    assert CostBasis.from_dict(json.loads(json.dumps(state.as_dict()))) == state


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"stored_kwh": 1.0}, "missing basis"),
        ({"stored_kwh": -1.0, "basis": 0.1}, "stored_kwh: must be >= 0"),
        ({"stored_kwh": 1.0, "basis": "cheap"}, "basis: expected a finite number"),
        ([1.0, 0.1], "expected a mapping"),
    ],
)
def test_from_dict_names_what_is_wrong(data: object, message: str) -> None:
    with pytest.raises(BasisError, match=message):
        CostBasis.from_dict(data)  # type: ignore[arg-type]


def test_bad_amounts_and_efficiencies_are_refused() -> None:
    with pytest.raises(BasisError, match="eta_charge: must be in"):
        CostBasis().charge_grid(1.0, 0.2, eta_charge=0.0)
    with pytest.raises(BasisError, match="eta_discharge: must be in"):
        CostBasis().discharge(1.0, eta_discharge=1.2)
    with pytest.raises(BasisError, match="charge_solar kwh: must be >= 0"):
        CostBasis().charge_solar(-1.0, 0.05, 0.95)
    with pytest.raises(BasisError, match="import_price: expected a finite number"):
        CostBasis().charge_grid(1.0, float("nan"), 0.95)
