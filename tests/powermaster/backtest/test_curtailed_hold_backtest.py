"""A battery held near empty while PV is curtailed (Amber SA, 1-3 Jan 2025, the morning of
Thu 2 Jan: feed-in costs money), the shipped flows on the simulator with perfect foresight.

The plan holds the battery and curtails the PV the house does not use, so control lowers
the charge current (41007) to 0 A. The inverter then cuts the panels to the AC setpoint,
and the PV reading is that setpoint's echo. The control tick used to count the reading,
setting the next setpoint from it: PV ratcheted down 10 W a tick while the house imported
the rest at 18-21c (0.964 of the optimum's saving over amber-2025-01; issue 20 asks for
0.97). The lowered limit, as telemetry tells it, now makes the reading count as curtailed.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from flowengine.loop import run as run_loop
from powermaster.backtest.builder import sample_scenario
from powermaster.backtest.capture import check_result
from powermaster.backtest.days import by_day
from powermaster.backtest.optimum import optimum
from powermaster.backtest.runner import run_backtest
from powermaster.backtest.scenario import Scenario

FIRST = date(2025, 1, 1)
DAY = date(2025, 1, 2)


@pytest.fixture(scope="module")
def run() -> tuple[Scenario, dict[str, Any]]:
    scenario = sample_scenario(3, first=FIRST, kind="perfect")
    return scenario, run_loop(run_backtest(scenario))


def test_the_day_captures_what_the_optimum_does(run: tuple[Scenario, dict[str, Any]]) -> None:
    scenario, result = run
    assert check_result(result, scenario) == []
    days = {d.day: d for d in by_day(scenario, result, optimum(scenario))}
    day = days[DAY]
    assert day.self_use_adjusted - day.optimum_adjusted > 0.5  # a day worth judging
    assert day.capture >= 0.97, day


def test_the_house_never_buys_what_the_curtailed_panels_could_give(
    run: tuple[Scenario, dict[str, Any]],
) -> None:
    scenario, result = run
    curtailing = [
        (i, slot)
        for i, slot in enumerate(result["slots"])
        if slot["pv_curtailed_wh"] > 100
        and scenario.pv_w[i] > scenario.load_w[i]
        and scenario.import_price[i] > 0
    ]
    assert len(curtailing) >= 3, "no morning of curtailed PV with the house importing to pay"
    bought = {scenario.slot_start(i).isoformat(): s["grid_import_wh"] for i, s in curtailing}
    assert all(wh < 20 for wh in bought.values()), bought
