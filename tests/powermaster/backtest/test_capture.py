"""Capture and the result checks."""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest

from powermaster.backtest.capture import adjusted, capture, check_result
from powermaster.backtest.optimum import optimum
from powermaster.backtest.scenario import Scenario
from tests.powermaster.backtest.scenarios import as_result, tiny


@pytest.fixture
def s() -> Scenario:
    return Scenario.from_dict(tiny())  # median import 0.30 $/kWh, 10 kWh, starts at 0.5


def test_adjusted_values_stored_energy_at_median_import(s: Scenario) -> None:
    assert adjusted(5.0, s, 0.5) == 5.0
    assert adjusted(5.0, s, 0.6) == pytest.approx(5.0 - 1.0 * 0.30)  # 1 kWh more stored
    assert adjusted(5.0, s, 0.4) == pytest.approx(5.0 + 1.0 * 0.30)


def test_capture_ends(s: Scenario) -> None:
    assert capture(10.0, 6.0, 6.0, s, 0.5, 0.5) == pytest.approx(1.0)
    assert capture(10.0, 10.0, 6.0, s, 0.5, 0.5) == pytest.approx(0.0)
    assert capture(10.0, 8.0, 6.0, s, 0.5, 0.5) == pytest.approx(0.5)
    assert math.isnan(capture(6.0, 6.0, 6.0, s, 0.5, 0.5))


def test_capture_adjusts_every_bill(s: Scenario) -> None:
    # Ending 1 kWh emptier is worth 0.30: a bill of 5.70 ending at 0.4 is the optimum's 6.00.
    assert capture(10.0, 5.7, 6.0, s, 0.4, 0.5) == pytest.approx(1.0)
    # Self-use ending fuller counts for it; an optimum that ends fuller too.
    assert capture(10.3, 6.0, 6.0, s, 0.5, 0.6) == pytest.approx(1.0)
    assert capture(10.0, 5.7, 6.0, s, 0.5, 0.5, soc_final_optimum=0.6) == pytest.approx(1.0)


def test_capture_takes_an_optimum(s: Scenario) -> None:
    best = optimum(s)
    assert capture(0.6, best.bill, best, s, best.soc_final, 0.5) == pytest.approx(1.0)


@pytest.fixture
def good(s: Scenario) -> dict[str, Any]:
    return as_result(s, optimum(s))


def test_a_good_result_passes(s: Scenario, good: dict[str, Any]) -> None:
    assert check_result(good, s) == []


def test_catches_an_imbalanced_slot(s: Scenario, good: dict[str, Any]) -> None:
    bad = copy.deepcopy(good)
    bad["slots"][1]["grid_import_wh"] += 500.0
    problems = check_result(bad, s)
    assert any("slot 1: energy does not balance by +500.0 Wh" in p for p in problems)
    assert any(p.startswith("bill.import_cost") for p in problems)


def test_catches_soc_out_of_range_and_off_its_efficiencies(
    s: Scenario, good: dict[str, Any]
) -> None:
    bad = copy.deepcopy(good)
    bad["slots"][3]["soc_end"] = 1.05
    problems = check_result(bad, s)
    assert any("slot 3: soc_end 1.0500 outside 0.1..1.0" in p for p in problems)
    assert any("slot 3: soc_end 1.0500, efficiencies give" in p for p in problems)


def test_catches_wrong_slot_count_and_net(s: Scenario, good: dict[str, Any]) -> None:
    short = {**good, "slots": good["slots"][:2]}
    assert check_result(short, s) == ["2 slots, scenario has 4"]
    wrong = copy.deepcopy(good)
    wrong["bill"]["net"] += 1.0
    assert [p for p in check_result(wrong, s) if p.startswith("bill.net")]
