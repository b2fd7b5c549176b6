"""The backtest runs the real flows against a scenario and scores it from the meter."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from powermaster.backtest.builder import build_scenario, qld_real_prices, with_erring_forecasts
from powermaster.backtest.capture import capture, check_result
from powermaster.backtest.optimum import optimum
from powermaster.backtest.runner import baseline_soc_final, run_backtest
from powermaster.backtest.scenario import Scenario, load_scenario
from powermaster.cli import main


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
