"""Scenario loading errors and the contract's visibility rule (known_at)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from powermaster.backtest.scenario import Scenario, load_scenario
from tests.powermaster.backtest.scenarios import tiny

T0 = 1740751200.0  # 2025-03-01T00:00+10:00


def _write(tmp_path: Path, d: dict[str, Any]) -> Path:
    path = tmp_path / "s.json"
    path.write_text(json.dumps(d))
    return path


def test_round_trip(tmp_path: Path) -> None:
    s = load_scenario(_write(tmp_path, tiny()))
    assert s.n_slots == 4
    assert s.start.timestamp() == T0
    assert s.slot_start(3).isoformat() == "2025-03-01T01:30:00+10:00"
    assert s.battery.cycle_cost_per_kwh == 0.0
    again = Scenario.from_dict(json.loads(s.to_json()))
    assert again.to_dict() == s.to_dict()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"pv_w": [0.0] * 3}, "pv_w: has 3 values but load_w has 4"),
        ({"slot_minutes": 0}, "slot_minutes"),
        ({"start": "2025-03-01T00:00:00"}, "start: '2025-03-01T00:00:00' has no UTC offset"),
        ({"start": "yesterday"}, "not an ISO 8601 time"),
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"load_w": [1.0, -1.0, 1.0, 1.0]}, "load_w/1: -1.0 is not a finite number >= 0"),
        ({"import_price": [0.1, "x", 0.1, 0.1]}, "import_price/1: 'x' is not of type 'number'"),
        ({"grid": {"max_import_w": 1}}, "grid: 'max_export_w' is a required property"),
        ({"forecasts": [{"import_price": []}]}, "'issued_at' is a required property"),
    ],
)
def test_errors_name_the_field(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match="scenario field") as err:
        load_scenario(_write(tmp_path, tiny(**change)))
    assert message in str(err.value)


def test_planner_settings_ride_along_and_are_checked(tmp_path: Path) -> None:
    """``planner``: site config for the planner section, checked as site.yaml's is; a file
    without it is written without it (the contract's file, unchanged)."""
    target = {"soc": 0.9, "by": "17:00", "hard": True}
    s = load_scenario(_write(tmp_path, tiny(planner={"soc_targets": [target]})))
    assert s.planner == {"soc_targets": [target]}
    assert Scenario.from_dict(json.loads(s.to_json())).planner == s.planner
    assert "planner" not in Scenario.from_dict(tiny()).to_dict()
    for planner, message in (
        ({"soc_targets": [{"soc": 0.9}]}, "planner/soc_targets/0: 'by' is a required property"),
        ({"soc_targets": [{"soc": 0.9, "by": "5pm"}]}, "planner/soc_targets/0/by: '5pm'"),
        (
            {"soc_targets": [{**target, "shortfall_price": 1.0}]},
            "planner/soc_targets/0/shortfall_price: 'planner.soc_targets.0.shortfall_price'",
        ),
        ({"horizon": 24}, "planner: Additional properties are not allowed ('horizon'"),
        ({"cycle_cost_per_kwh": 0.05}, "planner/cycle_cost_per_kwh: the wear cost is battery/"),
    ):
        with pytest.raises(ValueError, match="scenario field") as err:
            load_scenario(_write(tmp_path, tiny(planner=planner)))
        assert message in str(err.value)


def test_battery_errors(tmp_path: Path) -> None:
    d = tiny()
    d["battery"]["soc_initial"] = 0.05
    with pytest.raises(ValueError, match=r"battery/soc_initial: 0\.05 is outside"):
        load_scenario(_write(tmp_path, d))
    d = tiny()
    d["battery"]["capacity_kwh"] = 0
    with pytest.raises(ValueError, match="battery/capacity_kwh"):
        load_scenario(_write(tmp_path, d))


def test_forecast_outside_scenario_and_bad_json(tmp_path: Path) -> None:
    d = tiny(forecasts=[{"issued_at": "2025-03-02T00:00:00+10:00"}])
    with pytest.raises(ValueError, match="forecasts/0/issued_at: is outside"):
        load_scenario(_write(tmp_path, d))
    path = tmp_path / "bad.json"
    path.write_text("{")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_scenario(path)


def test_perfect_foresight_is_the_truth() -> None:
    s = Scenario.from_dict(tiny())
    k = s.known_at(T0 + 1800 + 60, 2)
    assert k["start"] == T0 + 1800
    assert k["slot_seconds"] == 1800 and isinstance(k["slot_seconds"], int)
    assert k["import_price"] == [0.10, 0.50]
    assert k["load_w"] == [1000.0, 1000.0]
    # Truncated at the scenario's end.
    assert s.known_at(T0 + 3 * 1800, 48)["import_price"] == [0.50]
    with pytest.raises(ValueError, match="outside the scenario"):
        s.known_at(T0 + 4 * 1800, 1)


def _with_issues() -> Scenario:
    return Scenario.from_dict(
        tiny(
            forecasts=[
                {
                    "issued_at": "2025-03-01T00:00:00+10:00",
                    "import_price": [9.0, 9.1, 9.2, 9.3],
                    "export_price": [8.0, 8.1, 8.2, 8.3],
                    "pv_w": [1.0, 2.0, 3.0, 4.0],
                },
                {  # second slot, issued mid-slot; covers only two slots
                    "issued_at": "2025-03-01T00:45:00+10:00",
                    "import_price": [7.0, 7.1],
                    "export_price": [6.0, 6.1],
                    "pv_w": [5.0, 6.0],
                    "load_w": [500.0, 600.0],
                },
            ]
        )
    )


def test_newest_issue_at_or_before_t() -> None:
    s = _with_issues()
    before = s.known_at(T0 + 2699, 4)  # 00:44:59: still the first issue
    assert before["issued_at"] == T0
    assert before["start"] == T0 + 1800
    assert before["import_price"] == [0.10, 9.2, 9.3]  # current slot: the real price
    assert before["export_price"] == [0.05, 8.2, 8.3]
    assert before["pv_w"] == [2.0, 3.0, 4.0]
    assert before["load_w"] is None  # not forecast: the system predicts it
    at = s.known_at(T0 + 2700, 4)
    assert at["issued_at"] == T0 + 2700
    assert at["import_price"] == [0.10, 7.1]
    assert at["load_w"] == [500.0, 600.0]


def test_issue_runs_out_and_before_first_issue() -> None:
    s = _with_issues()
    late = s.known_at(T0 + 3 * 1800, 4)  # the second issue covered slots 1-2 only
    assert late["import_price"] == [0.50]
    assert late["pv_w"] == []
    first = s.known_at(T0, 2)
    assert first["import_price"] == [0.10, 9.1]
    assert first["pv_w"] == [1.0, 2.0]
    none_yet = Scenario.from_dict(tiny(forecasts=[{"issued_at": "2025-03-01T01:00:00+10:00"}]))
    k = none_yet.known_at(T0, 4)
    assert k["issued_at"] is None
    assert k["import_price"] is None and k["pv_w"] is None


def test_issues_out_of_order_are_sorted() -> None:
    d = tiny(
        forecasts=[
            {"issued_at": "2025-03-01T01:00:00+10:00", "pv_w": [2.0]},
            {"issued_at": "2025-03-01T00:00:00+10:00", "pv_w": [1.0]},
        ]
    )
    s = Scenario.from_dict(d)
    assert s.known_at(T0 + 10, 1)["pv_w"] == [1.0]
    assert s.known_at(T0 + 3600, 1)["pv_w"] == [2.0]


def test_an_issue_may_carry_the_pv_spread(tmp_path: Path) -> None:
    issue = {
        "issued_at": "2025-03-01T00:00:00+10:00",
        "pv_w": [100.0, 200.0, 300.0, 400.0],
        "pv_p10_w": [50.0, 150.0, 250.0, 350.0],
        "pv_p90_w": [150.0, 250.0, 350.0, 450.0],
    }
    s = load_scenario(_write(tmp_path, tiny(forecasts=[issue])))
    assert Scenario.from_dict(json.loads(s.to_json())).to_dict() == s.to_dict()
    k = s.known_at(T0 + 1800, 2)
    assert k["pv_w"] == [200.0, 300.0]
    assert k["pv_p10_w"] == [150.0, 250.0] and k["pv_p90_w"] == [250.0, 350.0]
    # Without a spread (or with perfect foresight) there is none to see.
    assert _with_issues().known_at(T0, 2)["pv_p10_w"] is None
    assert Scenario.from_dict(tiny()).known_at(T0, 2)["pv_p90_w"] is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"pv_p10_w": [1.0, 2.0]}, r"forecasts/0/pv_p10_w: has 2 values but the issue's pv_w"),
        ({"pv_w": None, "pv_p90_w": [1.0]}, r"forecasts/0/pv_p90_w: has 1 values"),
        ({"pv_p10_w": [1.0, -1.0, 0.0, 0.0]}, r"forecasts/0/pv_p10_w/1: -1.0 is not a finite"),
    ],
)
def test_a_spread_goes_with_its_p50(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    issue = {"issued_at": "2025-03-01T00:00:00+10:00", "pv_w": [1.0, 2.0, 3.0, 4.0], **change}
    issue = {k: v for k, v in issue.items() if v is not None}
    with pytest.raises(ValueError, match=message):
        load_scenario(_write(tmp_path, tiny(forecasts=[issue])))
