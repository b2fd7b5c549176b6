"""A SOC target in a backtest: the shipped flows, on the simulator, meet "90 % by 17:00"
every day, by the simulator's own SOC (not the plan's), and without the target they do not.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

import pytest

from flowengine.loop import run as run_loop
from powermaster.backtest.builder import sample_scenario, with_erring_forecasts
from powermaster.backtest.capture import check_result
from powermaster.backtest.runner import backtest_settings, run_backtest
from powermaster.backtest.scenario import Scenario

SOC = 0.9
TARGET: dict[str, Any] = {"soc": SOC, "by": "17:00", "hard": True, "name": "evening"}
#: How far the simulator's SOC at 17:00 may sit below the plan's target: the plan is solved
#: from the stored energy the inverter reports (0.01 kWh steps) and carried out by 5-minute
#: setpoints in whole watts, so the real SOC misses the planned one by a few Wh (1 Wh on
#: this run). 0.5 % is 52 Wh of the 10.4 kWh battery: well above that, and far below the
#: 22 % the run without the target is short on its first day.
TOLERANCE = 0.005


def soc_at_five(result: dict[str, Any]) -> dict[str, float]:
    """Each day's SOC at 17:00 local: the simulator's SOC at the end of the 16:30 slot."""
    return {
        slot["start"][:10]: slot["soc_end"]
        for slot in result["slots"]
        if datetime.fromisoformat(slot["start"]).strftime("%H:%M") == "16:30"
    }


@pytest.fixture(scope="module")
def runs() -> dict[str, tuple[Scenario, dict[str, Any]]]:
    """Three perfect-foresight sample days (about 9 s each), with and without the target."""
    plain = sample_scenario(3, kind="perfect")
    targeted = dataclasses.replace(plain, planner={"soc_targets": [TARGET]})
    return {
        "without": (plain, run_loop(run_backtest(plain))),
        "with": (targeted, run_loop(run_backtest(targeted))),
    }


def test_the_scenarios_planner_keys_reach_the_planner() -> None:
    scenario = dataclasses.replace(
        sample_scenario(1, kind="perfect"),
        planner={"soc_targets": [TARGET], "soft_soc_min": 0.2},
    )
    planner = backtest_settings(scenario)["planner"]
    assert planner["soc_targets"] == [TARGET] and planner["soft_soc_min"] == 0.2
    assert planner["break_even_delta"] == 0.0  # what the scenario leaves out stays the backtest's
    assert backtest_settings(sample_scenario(1, kind="perfect"))["planner"]["soc_targets"] == []
    assert with_erring_forecasts(scenario, seed=0).planner == scenario.planner


def test_a_hard_target_is_met_every_day_by_the_simulators_soc(
    runs: dict[str, tuple[Scenario, dict[str, Any]]],
) -> None:
    scenario, result = runs["with"]
    assert check_result(result, scenario) == []
    at_five = soc_at_five(result)
    assert list(at_five) == ["2025-02-03", "2025-02-04", "2025-02-05"]
    short = {day: soc for day, soc in at_five.items() if soc < SOC - TOLERANCE}
    assert short == {}, at_five


def test_without_the_target_a_day_falls_short(
    runs: dict[str, tuple[Scenario, dict[str, Any]]],
) -> None:
    """The target is what holds the SOC up: the same days without it miss 90 % at 17:00."""
    scenario, result = runs["without"]
    assert check_result(result, scenario) == []
    at_five = soc_at_five(result)
    assert min(at_five.values()) < SOC - TOLERANCE, at_five
