"""Where each day's money went in a backtest: the product's own attribution, from the
run's site database, its books closed against the simulated meter.

With perfect foresight every forecast was right, so its parts are nothing (to the
sample's rounding of a watt) and the whole gap to the day's optimum is execution. With
forecasts that err, the parts still add up to the gap, and the actual bill is the
simulated meter's.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from flowengine.loop import run as run_loop
from powermaster.backtest.builder import Kind, sample_scenario
from powermaster.backtest.runner import run_backtest

#: A summer Tuesday on Amber SA's prices, after the spike of the Monday.
DAY = date(2025, 2, 4)


def worked_out(kind: Kind) -> tuple[dict[str, Any], dict[str, Any]]:
    """The day's result and its one day worked out."""
    result = run_loop(run_backtest(sample_scenario(1, DAY, kind), attribution=True))
    days = {day["date"]: day for day in result["attribution"]}
    return result, days[DAY.isoformat()]


def test_perfect_foresight_leaves_the_whole_gap_to_execution() -> None:
    result, day = worked_out("perfect")
    assert day["problem"] is None and day["filled"] == {"prices": 0, "pv_w": 0, "load_w": 0}
    parts = day["parts"]
    assert parts["pv"] == pytest.approx(0.0, abs=0.01)
    assert parts["load"] == pytest.approx(0.0, abs=0.01)
    assert parts["prices"] == pytest.approx(0.0, abs=0.01)
    assert parts["execution"] == pytest.approx(day["gap"], abs=0.01)
    assert day["gap"] >= -0.01  # nothing beats the optimum
    # The ledger's bill, settled against the meter, is the meter's.
    assert day["actual"]["bill"] == pytest.approx(result["bill"]["net"], abs=0.005)
    assert day["actual"]["soc_end"] == pytest.approx(result["soc_final"], abs=0.01)


def test_forecasts_that_err_split_the_gap_and_add_up_to_it() -> None:
    result, day = worked_out("erring")
    parts = day["parts"]
    assert sum(parts.values()) == pytest.approx(day["gap"], abs=1e-3)
    gap = day["actual"]["adjusted"] - day["optimum"]["adjusted"]
    assert day["gap"] == pytest.approx(gap, abs=1e-3)
    # The load is predicted from the home's history: it errs, and that costs something.
    assert parts["load"] > 0.01
    assert day["actual"]["bill"] == pytest.approx(result["bill"]["net"], abs=0.005)
