"""A day of negative midday prices (Amber SA, Sat 8 Feb 2025), the shipped flows on the
simulator with perfect foresight: the plan is paid to import and the KH carries it out.

The optimum curtails PV and imports at the battery's charge limit while the house also
runs from the grid. Before the plan could ask for that and control could carry it out
(41007 lowered to the planned charge while PV is curtailed) this day captured 0.84 of
the optimum's saving; issue 20 asks for 0.97 on every day.
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

DAY = date(2025, 2, 8)


@pytest.fixture(scope="module")
def run() -> tuple[Scenario, dict[str, Any]]:
    scenario = sample_scenario(1, first=DAY, kind="perfect")
    return scenario, run_loop(run_backtest(scenario))


def test_the_day_captures_what_the_optimum_does(run: tuple[Scenario, dict[str, Any]]) -> None:
    scenario, result = run
    assert check_result(result, scenario) == []
    (day,) = by_day(scenario, result, optimum(scenario))
    assert day.self_use_adjusted - day.optimum_adjusted > 0.5  # a day worth judging
    assert day.capture >= 0.97, day


def test_pv_is_curtailed_while_importing_when_importing_pays(
    run: tuple[Scenario, dict[str, Any]],
) -> None:
    scenario, result = run
    paid = [
        slot
        for i, slot in enumerate(result["slots"])
        if scenario.import_price[i] < 0 and scenario.pv_w[i] > 1000
    ]
    assert paid, "the day has no paid-to-import slot with sun"
    curtailing_imports = [
        s for s in paid if s["pv_curtailed_wh"] > 100 and s["grid_import_wh"] > 100
    ]
    assert len(curtailing_imports) >= len(paid) // 2
