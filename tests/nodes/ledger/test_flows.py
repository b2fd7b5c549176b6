"""Interval energy from counter pairs, and the split by hand."""

from __future__ import annotations

import pytest

from nodes.ledger import COUNTERS, CounterError, IntervalEnergy, attribute, interval_energy

#: A Fox ESS KH ``energy_kwh`` as nodes/foxess/client.py builds it (0.1 kWh, extra keys).
BEFORE = {
    "pv": 12345.6,
    "load": 20001.3,
    "grid_import": 8000.0,
    "grid_export": 4000.2,
    "battery_charge": 3000.4,
    "battery_discharge": 2900.9,
    "inverter_output": 15000.1,
    "inverter_input": 3100.0,
}


def after(**deltas: float) -> dict[str, float]:
    return {k: round(v + deltas.get(k, 0.0), 1) for k, v in BEFORE.items()}


def energy(**kwh: float) -> IntervalEnergy:
    return IntervalEnergy(**{name: kwh.get(name, 0.0) for name in COUNTERS})


def test_deltas_of_two_readings() -> None:
    got, why = interval_energy(BEFORE, after(pv=3.0, load=1.0, battery_charge=1.5, grid_export=0.5))
    assert why is None and got is not None
    assert got.pv == pytest.approx(3.0)
    assert got.load == pytest.approx(1.0)
    assert got.battery_charge == pytest.approx(1.5)
    assert got.grid_export == pytest.approx(0.5)
    assert got.grid_import == 0.0 and got.battery_discharge == 0.0


def test_counter_going_backwards_is_a_reset_not_negative_energy() -> None:
    current = after(pv=1.0) | {"grid_import": 3.2}
    got, why = interval_energy(BEFORE, current)
    assert got is None
    assert why is not None and "grid_import 8000 -> 3.2" in why and "reset" in why


def test_float_noise_below_a_counter_step_is_zero() -> None:
    current = dict(BEFORE) | {"load": BEFORE["load"] - 1e-9}
    got, why = interval_energy(BEFORE, current)
    assert why is None and got is not None and got.load == 0.0


def test_missing_counter_is_named_with_its_reading() -> None:
    current = {k: v for k, v in BEFORE.items() if k not in ("load", "pv")}
    with pytest.raises(CounterError, match="current counters: missing pv, load"):
        interval_energy(BEFORE, current)


def test_non_numeric_counter_is_named() -> None:
    with pytest.raises(CounterError, match="previous counters: battery_charge is not a number"):
        interval_energy(BEFORE | {"battery_charge": None}, BEFORE)  # type: ignore[arg-type]


def test_interval_energy_refuses_negative_kwh() -> None:
    with pytest.raises(CounterError, match=r"IntervalEnergy.grid_export: must be finite and >= 0"):
        energy(grid_export=-0.1)


def test_midday_solar_serves_load_then_battery_then_export() -> None:
    f = attribute(energy(pv=3.0, load=1.0, battery_charge=1.5, grid_export=0.5))
    assert (f.pv_to_load, f.pv_to_battery, f.pv_to_grid) == (1.0, 1.5, 0.5)
    assert (f.grid_to_load, f.grid_to_battery, f.battery_to_load, f.battery_to_grid) == (0, 0, 0, 0)
    assert f.balanced


def test_evening_battery_serves_load_grid_covers_rest() -> None:
    f = attribute(energy(pv=0.2, load=2.0, battery_discharge=1.5, grid_import=0.3))
    assert f.pv_to_load == 0.2
    assert f.battery_to_load == 1.5 and f.battery_to_grid == 0.0
    assert f.grid_to_load == pytest.approx(0.3)
    assert f.balanced


def test_discharge_beyond_load_is_exported() -> None:
    f = attribute(energy(load=0.5, battery_discharge=2.0, grid_export=1.5))
    assert (f.battery_to_load, f.battery_to_grid) == (0.5, 1.5)
    assert f.grid_to_load == 0.0 and f.export_mismatch_kwh == 0.0


def test_charge_solar_cannot_cover_comes_from_grid() -> None:
    f = attribute(energy(pv=2.0, load=0.5, battery_charge=3.0, grid_import=1.5))
    assert (f.pv_to_load, f.pv_to_battery, f.pv_to_grid) == (0.5, 1.5, 0.0)
    assert f.grid_to_battery == 1.5 and f.grid_to_load == 0.0
    assert f.import_mismatch_kwh == 0.0


def test_split_adds_up_to_every_counter() -> None:
    e = energy(
        pv=1.7,
        load=2.9,
        grid_import=1.9,
        grid_export=0.4,
        battery_charge=0.6,
        battery_discharge=0.3,
    )
    f = attribute(e)
    assert f.pv_to_load + f.pv_to_battery + f.pv_to_grid == pytest.approx(e.pv)
    assert f.pv_to_load + f.battery_to_load + f.grid_to_load == pytest.approx(e.load)
    assert f.pv_to_battery + f.grid_to_battery == pytest.approx(e.battery_charge)
    assert f.battery_to_load + f.battery_to_grid == pytest.approx(e.battery_discharge)
    flows = {k: v for k, v in f.as_dict().items() if not k.endswith("_mismatch_kwh")}
    assert len(flows) == 7 and all(v >= 0 for v in flows.values())


def test_counters_that_disagree_are_reported_unbalanced() -> None:
    f = attribute(energy(pv=0.2, load=2.0, battery_discharge=1.5, grid_import=1.0))
    assert f.import_mismatch_kwh == pytest.approx(-0.7)
    assert not f.balanced


def test_one_counter_step_of_disagreement_is_still_balanced() -> None:
    f = attribute(energy(load=1.0, grid_import=1.1))
    assert f.import_mismatch_kwh == pytest.approx(-0.1)
    assert f.balanced
