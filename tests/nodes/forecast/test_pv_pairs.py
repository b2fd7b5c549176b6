"""The (raw forecast, recorded PV) pairs read from a real site.db: the forecast as issued
when the half hour began, and the half hours whose PV was held back marked by why."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest

from nodes.forecast.calibration import Pair
from nodes.forecast.pv_pairs import Limits, pv_pairs
from nodes.history.issues import record_prices
from tests.nodes.forecast.recorded import (
    HALF_HOUR,
    SETTINGS,
    TODAY,
    half_hour,
    issue,
    open_site,
    record,
)

LIMITS = Limits.from_settings(SETTINGS)
TEN = TODAY - 86400 + 10 * 3600  # 10:00 yesterday


@pytest.fixture
def db() -> Iterator[sqlite3.Connection]:
    with sqlite3.connect(":memory:", isolation_level=None) as connection:
        yield open_site(connection)


def pairs(db: sqlite3.Connection, lead_s: float = 0.0) -> dict[str, list[Pair]]:
    return pv_pairs(db, TODAY - 86400, TODAY, LIMITS, lead_s)


def test_the_forecast_is_the_raw_issue_believed_when_the_half_hour_began(
    db: sqlite3.Connection,
) -> None:
    issue(db, TEN, 1000.0, fetched=TEN - 7200)
    issue(db, TEN, 1500.0, fetched=TEN - 600)  # the last one before 10:00
    issue(db, TEN, 3000.0, fetched=TEN + 900)  # fetched during the half hour: too late
    record(db, TEN, 1400.0)
    assert pairs(db) == {"solcast": [Pair(TEN, 1500.0, 1400.0)]}
    # Believed two hours ahead instead: the earlier issue.
    assert pairs(db, lead_s=3600)["solcast"][0].forecast_w == 1000.0


def test_half_hours_the_panels_were_held_back_in_are_marked_by_why(
    db: sqlite3.Connection,
) -> None:
    half_hour(db, TEN, 3000.0, 2900.0, battery_w=2000.0, grid_w=-400.0)  # free
    half_hour(db, TEN + HALF_HOUR, 3000.0, 2000.0, soc=1.0)  # the battery full
    half_hour(db, TEN + 2 * HALF_HOUR, 9000.0, 7000.0, grid_w=-4950.0)  # export at its limit
    half_hour(db, TEN + 3 * HALF_HOUR, 9000.0, 6000.0, battery_w=5000.0)  # charge at its limit
    assert [(p.actual_w, p.skip) for p in pairs(db)["solcast"]] == [
        (2900.0, ""),
        (2000.0, "full"),
        (7000.0, "curtailed"),
        (6000.0, "curtailed"),
    ]


def test_past_the_raw_samples_a_price_below_zero_counts_as_curtailed(
    db: sqlite3.Connection,
) -> None:
    half_hour(db, TEN, 3000.0, 2000.0)
    half_hour(db, TEN + HALF_HOUR, 3000.0, 2900.0)
    reading = {
        "provider": "amber",
        "issued_at": TEN - 3600,
        "fetched_at": TEN - 3600,
        "data": {
            "intervals": [
                {"start": TEN, "end": TEN + HALF_HOUR, "import_price": 0.05, "export_price": -0.02}
            ]
        },
    }
    record_prices(db, reading)
    # While the raw samples are kept they say the battery and export had room: PV was free.
    assert [p.skip for p in pairs(db)["solcast"]] == ["", ""]
    db.execute("DELETE FROM telemetry_samples")  # pruned past their 30 days
    assert [p.skip for p in pairs(db)["solcast"]] == ["curtailed", ""]


def test_hourly_periods_are_put_on_the_half_hours_and_each_provider_kept_apart(
    db: sqlite3.Connection,
) -> None:
    issue(db, TEN, 2000.0, fetched=TEN - 3600, minutes=60, provider="forecast_solar")
    issue(db, TEN, 2400.0, fetched=TEN - 3600, provider="solcast")
    record(db, TEN, 2200.0)
    record(db, TEN + HALF_HOUR, 2100.0)
    found = pairs(db)
    assert found["forecast_solar"] == [
        Pair(TEN, 2000.0, 2200.0),
        Pair(TEN + HALF_HOUR, 2000.0, 2100.0),
    ]
    assert found["solcast"] == [Pair(TEN, 2400.0, 2200.0)]


def test_a_site_with_no_history_has_no_pairs() -> None:
    with sqlite3.connect(":memory:") as empty:
        assert pv_pairs(empty, TODAY - 86400, TODAY, LIMITS) == {}
