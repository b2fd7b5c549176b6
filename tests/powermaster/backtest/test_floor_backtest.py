"""An evening price spike sold down to the battery's floor (Fri 21 Feb 2025 on QLD prices
moved onto 2025, qld-shifted-2025-02), the shipped flows on the simulator with perfect
foresight.

The plan discharges at the battery's full 5 kW through the 18:30 half hour ($6.49/kWh to
import, $5.45 to export) and reaches soc_min exactly at 19:00. The critical floor used to
cap a discharge so it could not run through the floor within ten minutes, so the tick at
18:55 halved it: the house imported at $6.49 and the energy left went at $0.61 after 19:00,
$1.11 of a $23 day (capture 0.952; issue 20 asks for 0.97). Now the discharge runs at its
power with an end at the floor, which the inverter's own watchdog keeps.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from flowengine.loop import run as run_loop
from powermaster.backtest.builder import build_scenario, qld_shifted_prices
from powermaster.backtest.capture import check_result
from powermaster.backtest.days import by_day
from powermaster.backtest.optimum import optimum
from powermaster.backtest.runner import run_backtest
from powermaster.backtest.scenario import Scenario

DAY = date(2025, 2, 21)


@pytest.fixture(scope="module")
def run() -> tuple[Scenario, dict[str, Any]]:
    scenario = build_scenario(f"qld-shifted-{DAY}", DAY, DAY, qld_shifted_prices())
    return scenario, run_loop(run_backtest(scenario))


def test_the_day_captures_what_the_optimum_does(run: tuple[Scenario, dict[str, Any]]) -> None:
    scenario, result = run
    assert check_result(result, scenario) == []
    (day,) = by_day(scenario, result, optimum(scenario))
    assert day.self_use_adjusted - day.optimum_adjusted > 0.5  # a day worth judging
    assert day.capture >= 0.97, day


def test_the_spike_half_hour_runs_the_battery_to_its_floor(
    run: tuple[Scenario, dict[str, Any]],
) -> None:
    scenario, result = run
    spike = datetime(2025, 2, 21, 18, 30, tzinfo=ZoneInfo(scenario.timezone))
    i = next(i for i in range(scenario.n_slots) if scenario.slot_start(i) == spike)
    assert scenario.import_price[i] > 6.0
    slot = result["slots"][i]
    assert slot["grid_import_wh"] < 5  # the house never buys at $6.49
    assert slot["soc_end"] == pytest.approx(scenario.battery.soc_min, abs=0.002)
