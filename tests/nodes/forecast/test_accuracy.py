"""The PV forecast accuracy report on a hand-made site.db: each day scored against the
factors learned from the days before it, before and after calibration."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest

from flowengine.errors import InvalidRequest
from nodes.forecast.accuracy import AccuracyQuery, pv_accuracy
from tests.nodes.forecast.recorded import DAY, HALF_HOUR, SETTINGS, TODAY, TZ, half_hour, open_site

TEN = 10 * 3600


@pytest.fixture
def db() -> Iterator[sqlite3.Connection]:
    """Eight days (the last is yesterday) on which 10:00-11:00 gave 1600 W of 2000 W
    forecast; yesterday also a 2000 W half hour at 11:00 with the battery full."""
    with sqlite3.connect(":memory:", isolation_level=None) as connection:
        open_site(connection)
        for day in range(1, 9):
            for at in (TEN, TEN + HALF_HOUR):
                half_hour(connection, TODAY - day * DAY + at, 2000.0, 1600.0)
        half_hour(connection, TODAY - DAY + 11 * 3600, 2000.0, 900.0, soc=1.0)
        yield connection


def test_each_day_is_scored_raw_and_with_the_factors_it_had(db: sqlite3.Connection) -> None:
    report = pv_accuracy(db, AccuracyQuery(days=2), SETTINGS, TZ, TODAY + 9 * 3600)
    assert report["since"] == "2025-03-09T00:00:00+10:00"
    assert report["enabled"] is False  # the default: "calibrated" is what it would have given
    (solcast,) = report["providers"]
    yesterday, today = solcast["days"]
    assert yesterday["date"] == "2025-03-09" and yesterday["complete"] is True
    assert yesterday["skipped"] == {"full": 1}
    assert (yesterday["slots"], yesterday["actual_kwh"]) == (2, 1.6)
    # Raw: 2000 W forecast, 1600 W given: 400 W too high, 25 % of what was given.
    assert yesterday["raw"] == {
        "forecast_kwh": 2.0,
        "bias_w": 400.0,
        "mae_w": 400.0,
        "bias_pct": 25.0,
    }
    # Yesterday's factor, from the seven days before it: 1 + 7/14 x (0.8 - 1) = 0.9.
    assert yesterday["calibrated"] == {
        "forecast_kwh": 1.8,
        "bias_w": 200.0,
        "mae_w": 200.0,
        "bias_pct": 12.5,
    }
    assert today["complete"] is False and today["slots"] == 0 and today["raw"] is None
    assert solcast["total"]["slots"] == 2 and solcast["total"]["raw"]["mae_w"] == 400.0
    # Today's factor learned from all eight days: 1 + 8/15 x (0.8 - 1).
    assert solcast["factors"][10]["factor"] == pytest.approx(1 - 0.2 * 8 / 15, abs=1e-4)
    assert solcast["factors"][10]["days"] == 8


def test_a_site_without_forecasts_has_no_providers() -> None:
    with sqlite3.connect(":memory:") as empty:
        open_site(empty)
        report = pv_accuracy(empty, AccuracyQuery(), SETTINGS, TZ, TODAY)
    assert report["providers"] == []


@pytest.mark.parametrize("days", ["0", "91", "x", "1.5", "1" * 5000])
def test_a_bad_query_is_refused_naming_the_parameter(days: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        AccuracyQuery.parse({"days": days})
    assert [p.field for p in refused.value.problems] == ["days"]


def test_the_query_names_unknown_parameters_and_defaults_to_two_weeks() -> None:
    assert AccuracyQuery.parse({}) == AccuracyQuery(14)
    assert AccuracyQuery.parse({"days": " 30 "}) == AccuracyQuery(30)
    with pytest.raises(InvalidRequest) as refused:
        AccuracyQuery.parse({"since": "2025-01-01"})
    assert [p.field for p in refused.value.problems] == ["since"]
