"""The backtest runs the real flows against a scenario and scores it from the meter."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from flowengine import Engine, VirtualClock, load_flow_text
from nodes.forecast import NODE_TYPES as FORECASTING
from nodes.inputs import NODE_TYPES as INPUTS
from nodes.replay import NODE_TYPES as REPLAY
from nodes.replay import ReplayDatasetConnection
from powermaster.backtest.builder import build_scenario, qld_real_prices, with_erring_forecasts
from powermaster.backtest.capture import capture, check_result
from powermaster.backtest.optimum import optimum
from powermaster.backtest.runner import (
    ScenarioDataset,
    backtest_settings,
    baseline_soc_final,
    run_backtest,
)
from powermaster.backtest.scenario import Scenario, load_scenario
from powermaster.cli import main
from tests.flowengine.helpers import Collect
from tests.powermaster.backtest.scenarios import tiny
from tests.support.registry import registry


@pytest.fixture(scope="module")
def two_days() -> Scenario:
    """Two real July days: QLD wholesale turned retail, Brisbane load and PV."""
    return build_scenario("qld-2025-07-18", date(2025, 7, 18), date(2025, 7, 19), qld_real_prices())


async def test_perfect_foresight_captures_nearly_all_the_saving(two_days: Scenario) -> None:
    result = await run_backtest(two_days)
    assert check_result(result, two_days) == []
    assert len(result["slots"]) == two_days.n_slots == 96
    assert result["ticks"] >= 2 * 288  # every 5 minutes, and again when a new plan lands
    assert result["plans"] >= 2 * 48
    best = optimum(two_days)
    value = capture(
        result["baselines"]["self_use"],
        result["bill"]["net"],
        best,
        two_days,
        result["soc_final"],
        baseline_soc_final(two_days),
    )
    assert value >= 0.97, value
    assert (
        result["bill"]["net"] < result["baselines"]["self_use"] < result["baselines"]["no_battery"]
    )


async def test_forecasts_that_err_still_save(two_days: Scenario) -> None:
    erring = with_erring_forecasts(two_days, seed=1)
    result = await run_backtest(erring)
    assert check_result(result, erring) == []
    assert result["bill"]["net"] < result["baselines"]["self_use"]


def test_the_command_writes_the_contracted_result(
    tmp_path: Path, two_days: Scenario, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "scenario.json"
    path.write_text(two_days.to_json())
    out = tmp_path / "result.json"
    assert main(["backtest", str(path), "--out", str(out), "--quiet"]) == 0
    result = json.loads(out.read_text())
    assert set(result) >= {
        "scenario",
        "slots",
        "bill",
        "baselines",
        "soc_initial",
        "soc_final",
        "ticks",
        "plans",
        "wall_seconds",
    }
    assert set(result["slots"][0]) == {
        "start",
        "grid_import_wh",
        "grid_export_wh",
        "battery_charge_wh",
        "battery_discharge_wh",
        "pv_curtailed_wh",
        "soc_end",
        "mode",
    }
    assert check_result(result, load_scenario(path)) == []
    assert "qld-2025-07-18: bill $" in capsys.readouterr().out


def test_a_broken_scenario_is_refused_clearly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"name": "bad"}))
    assert main(["backtest", str(path), "--out", str(tmp_path / "r.json")]) == 2
    assert "bad.json" in capsys.readouterr().err
    assert not (tmp_path / "r.json").exists()


SPREAD_FLOW = """
flow: plan
triggers: [{type: start}]
connections:
  - {id: replay_dataset, type: replay.dataset}
nodes:
  - {id: prices, type: inputs.prices, wires: [pv]}
  - {id: pv, type: inputs.pv, wires: [forecast]}
  - {id: forecast, type: forecast.aggregate, config: {p10_blend: 0.5}, wires: [got]}
  - {id: got, type: test.collect}
"""


def _spread_scenario(bands: bool) -> Scenario:
    issue: dict[str, Any] = {
        "issued_at": "2025-03-01T00:00:00+10:00",
        "import_price": [0.1, 0.2, 0.3, 0.4],
        "export_price": [0.05] * 4,
        "pv_w": [1000.0, 2000.0, 3000.0, 4000.0],
    }
    if bands:
        issue.update(
            pv_p10_w=[600.0, 1000.0, 3000.0, 0.0], pv_p90_w=[1400.0, 2500.0, 3000.0, 5000.0]
        )
    return Scenario.from_dict(tiny(forecasts=[issue]))


async def _planned_pv(scenario: Scenario) -> tuple[list[dict[str, Any]], list[float]]:
    """The PV reading's periods and the PV the plan gets, the scenario replayed as the
    backtest replays it."""
    Collect.seen = {}
    reg = registry(*INPUTS, *FORECASTING, *REPLAY)
    clock = VirtualClock(scenario.start_epoch + 60)
    provided = ReplayDatasetConnection.of(ScenarioDataset(scenario), clock)
    engine = Engine(
        reg, clock, settings=backtest_settings(scenario), freeze_gc=False, provided=[provided]
    )
    await engine.start(load_flow_text(SPREAD_FLOW, reg))
    try:
        await engine.settle()
        periods = engine.context.peek("global", "pv")["data"]["periods"]
    finally:
        await engine.stop()
        engine.close()
    return periods, Collect.seen["got"][0]["pv_w"]


async def test_an_issues_pv_spread_reaches_the_plan_as_p10_and_p90() -> None:
    periods, pv = await _planned_pv(_spread_scenario(bands=True))
    assert [p["p50_w"] for p in periods] == [1000.0, 2000.0, 3000.0, 4000.0]
    assert [p["p10_w"] for p in periods] == [600.0, 1000.0, 3000.0, 0.0]
    assert [p["p90_w"] for p in periods] == [1400.0, 2500.0, 3000.0, 5000.0]
    assert pv == [800.0, 1500.0, 3000.0, 2000.0]  # halfway to P10: p10_blend 0.5


async def test_without_a_spread_p10_and_p90_are_p50_as_before() -> None:
    periods, pv = await _planned_pv(_spread_scenario(bands=False))
    assert all(p["p10_w"] == p["p50_w"] == p["p90_w"] for p in periods)
    assert pv == [1000.0, 2000.0, 3000.0, 4000.0]
