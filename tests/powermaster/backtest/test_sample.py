"""``power-master backtest --sample``: a ready scenario on the shipped data, scored day by day."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest

from powermaster.backtest.builder import sample_scenario
from powermaster.backtest.capture import check_result
from powermaster.backtest.days import by_day
from powermaster.backtest.optimum import optimum
from powermaster.cli import main


def test_a_sample_day_runs_and_is_scored_day_by_day(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "result.json"
    assert main(["backtest", "--sample", "1d", "--quiet", "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert said.startswith("sample-amber-2025-02-03-1d-erring: bill $")
    assert re.search(r"^capture \d\.\d{3} \(0 = the inverter alone", said, re.M)
    assert re.search(r"^Mon 03 Feb +-?\d+\.\d\d +-?\d+\.\d\d +-?\d+\.\d\d +\d\.\d{3}", said, re.M)
    # Where the day's money went: its gap to its own optimum, split four ways.
    assert re.search(r"^day +bill +optimum +gap +PV +load +prices +execution$", said, re.M)
    assert re.search(r"^Mon 03 Feb(?: +-?\d+\.\d\d){7}$", said, re.M)
    result = json.loads(out.read_text())
    assert check_result(result, sample_scenario(1)) == []
    [day] = [d for d in result["attribution"] if d["date"] == "2025-02-03"]
    assert sum(day["parts"].values()) == pytest.approx(day["gap"], abs=1e-3)


def test_the_days_add_up_to_the_period() -> None:
    """Each day's bills sum to the period's, and the optimum is never beaten by more than
    its stored energy could explain on the day (capture of a day may pass 1 only so)."""
    scenario = sample_scenario(2, date(2025, 2, 8), kind="perfect")
    best = optimum(scenario)
    perfect = {
        "slots": [
            {
                "grid_import_wh": s.grid_import_w * 0.5,
                "grid_export_wh": s.grid_export_w * 0.5,
                "soc_end": s.soc_end,
            }
            for s in best.plan.slots
        ]
    }
    days = by_day(scenario, perfect, best)
    assert [d.day for d in days] == [date(2025, 2, 8), date(2025, 2, 9)]
    assert sum(d.optimum for d in days) == pytest.approx(best.bill, abs=1e-6)
    assert all(d.bill == pytest.approx(d.optimum, abs=1e-6) for d in days)  # it is the optimum
    assert all(d.capture == pytest.approx(1.0, abs=1e-6) for d in days)
    assert all(d.lost_to_optimum == pytest.approx(0.0, abs=1e-6) for d in days)


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (
            ["--sample", "3d", "--from", "2025-04-17"],
            "does not cover 2025-04-17 to 2025-04-19; it covers 2025-01-01 to 2025-04-18",
        ),
        (["scenario.json"], "--out RESULT.json is needed with a scenario file"),
        ([], "give a scenario file or --sample DAYS"),
    ],
)
def test_what_cannot_run_is_refused_saying_why(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["backtest", *argv]) == 2
    assert said in capsys.readouterr().err


def test_days_must_be_whole(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["backtest", "--sample", "half"])
    assert "a number of days like 3d, not 'half'" in capsys.readouterr().err
