"""planning.attribute and the day it reads from the site database (nodes/planning/
recorded.py), on a real SQLite file in WAL mode, on virtual time.

The day: an empty 10 kWh battery (10 %), 5 kW, no loss charging and 10 % discharging;
no load but a 4 kW evening half hour (17:00-17:30, 2 kWh, at 40 c); imports at 10 c at
night (00:00-07:00, 17:30-24:00) and 20 c by day; exports earn nothing. The median
import price is 10 c, so stored energy is worth 9 c a kWh: never worth buying for.
Solcast promised 4 kW of sun from 10:00 to 14:00 and none came. Believing it, the plan
buys nothing at night; at 14:00, the sun gone, it buys the evening's 2.222 kWh (2 kWh
out at 90 %) at 20 c ($0.444). Knowing, it buys it at night at 10 c ($0.222). The ledger
says $0.494: $0.05 more than the believed plan, which is execution.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flowengine import Engine, VirtualClock, load_flow_text, run_to_end
from flowengine.database import open_database
from nodes.history.days import day_bounds
from nodes.ledger.settings import BillingTerms
from nodes.planning import NODE_TYPES
from nodes.planning.days import day_views
from nodes.planning.recorded import Unattributable, recorded_day
from tests.nodes.planning.recorded_site import (
    DAY,
    ZONE,
    SiteDay,
    by_time,
    record_day,
    reissue_price,
)
from tests.support.registry import registry

SETTINGS: dict[str, Any] = {
    "site": {"timezone": "Australia/Brisbane"},
    "battery": {
        "capacity_kwh": 10.0,
        "max_charge_w": 5000.0,
        "max_discharge_w": 5000.0,
        "charge_efficiency": 1.0,
        "discharge_efficiency": 0.9,
        "soc_min": 0.1,
        "soc_max": 1.0,
    },
    "grid": {"max_import_w": 10000.0, "max_export_w": 5000.0},
    "billing": {"supply_charge": 0.0, "monthly_fee": 0.0},
}
FLOW = """
flow: attribution
nodes:
  - id: attribute
    type: planning.attribute
    config: {connection: site_db, days: 14, max_days: 2}
connections: [{id: site_db, type: core.sqlite, config: {file: site.db}}]
"""
IMPORT = by_time(("07:00", "17:00", 0.20), ("17:00", "17:30", 0.40), otherwise=0.10)
SUNNY_BELIEF = by_time(("10:00", "14:00", 4000.0))


def the_day(**changes: Any) -> SiteDay:
    values: dict[str, Any] = {
        "import_price": IMPORT,
        "export_price": [0.0] * 48,
        "pv_w": [0.0] * 48,
        "load_w": by_time(("17:00", "17:30", 4000.0)),
        "pv_believed": SUNNY_BELIEF,
        "bill": 2 / 0.9 * 0.20 + 0.05,
    }
    return SiteDay(**{**values, **changes})


@pytest.fixture
def site_db(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    db = open_database(tmp_path / "site.db", schema="")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    yield db
    db.close()


async def attribute_at(data_dir: Path, when: float) -> dict[str, Any]:
    """One run of the node at ``when`` (engine time) on ``data_dir``'s site.db: its status."""
    reg = registry(*NODE_TYPES)
    engine = Engine(reg, VirtualClock(when), ":memory:", settings=SETTINGS, data_dir=data_dir)
    await engine.start(load_flow_text(FLOW, reg))
    try:
        trace = await run_to_end(engine, "attribution", None)
        assert trace.outcome == "ok", trace.error
        status: dict[str, Any] = engine.flows["attribution"].nodes["attribute"].status
        return status
    finally:
        await engine.stop()
        engine.close()


def views(db: sqlite3.Connection) -> dict[str, dict[str, Any]]:
    """The days worked out, by date."""
    found = day_views(db, 0.0, 4e9, BillingTerms.from_settings(SETTINGS))
    return {view["date"]: view for view in found}


async def test_sunshine_that_never_came_is_the_pv_forecasts_part_of_the_gap(
    site_db: sqlite3.Connection, tmp_path: Path
) -> None:
    record_day(site_db, the_day())
    _, end = day_bounds(DAY, ZONE)
    ran = await attribute_at(tmp_path, end + 20 * 60)  # 00:20 the next morning
    assert "2026-01-14: $0.27 from the optimum" in ran["text"]
    days = views(site_db)
    # The half hour before it is all the day before holds: that day is kept with why.
    assert days["2026-01-13"]["problem"] == "the history holds 1 of the day's 48 half hours"
    day = days["2026-01-14"]
    assert day["start"] == "2026-01-14T00:00:00+10:00" and day["end"] == "2026-01-15T00:00:00+10:00"
    assert day["problem"] is None
    assert day["stored_value"] == pytest.approx(0.09)
    assert day["actual"]["bill"] == pytest.approx(0.4944, abs=1e-4)
    assert day["optimum"]["bill"] == pytest.approx(0.2222, abs=1e-4)
    assert day["parts"] == pytest.approx(
        {"pv": 0.2222, "load": 0.0, "prices": 0.0, "execution": 0.05}, abs=1e-4
    )
    assert day["gap"] == pytest.approx(0.2722, abs=1e-4)
    assert day["filled"] == {"prices": 0, "pv_w": 0, "load_w": 0}


async def test_a_day_is_worked_out_once_and_a_day_with_holes_is_kept_with_why(
    site_db: sqlite3.Connection, tmp_path: Path
) -> None:
    record_day(site_db, the_day(down={20, 21, 22, 23}))  # 10:00-12:00 missing
    _, end = day_bounds(DAY, ZONE)
    first = await attribute_at(tmp_path, end + 20 * 60)
    assert "the history holds 44 of the day's 48 half hours" in first["text"]
    again = await attribute_at(tmp_path, end + 80 * 60)
    assert again["text"] == "nothing to work out"
    day = views(site_db)["2026-01-14"]
    assert day["problem"] == "the history holds 44 of the day's 48 half hours"
    assert "parts" not in day


async def test_the_day_in_progress_waits_for_its_end(
    site_db: sqlite3.Connection, tmp_path: Path
) -> None:
    start, _ = record_day(site_db, the_day())
    ran = await attribute_at(tmp_path, start + 23 * 3600)
    assert ran["text"].startswith("2026-01-13: ")  # only the day before, and its one slot
    assert list(views(site_db)) == ["2026-01-13"]


async def test_a_day_whose_last_half_hour_is_not_recorded_yet_waits_whatever_the_clock(
    site_db: sqlite3.Connection, tmp_path: Path
) -> None:
    # The telemetry stops at 23:00 (the last record so far) and the clock reads the next
    # morning: a clock set ahead, or ticks still to land. Nothing later says the day is over.
    record_day(site_db, the_day(down={46, 47}))
    _, end = day_bounds(DAY, ZONE)
    await attribute_at(tmp_path, end + 8 * 3600)
    assert list(views(site_db)) == ["2026-01-13"]


def test_each_half_hour_is_told_the_latest_issue_fetched_by_its_start(
    site_db: sqlite3.Connection,
) -> None:
    record_day(site_db, the_day())
    reissue_price(site_db, at="16:00", slot="17:00", import_price=0.55)
    day = recorded_day(site_db, DAY, ZONE)
    evening = 34  # 17:00
    assert day.day.actual.import_price[evening] == 0.55  # as last issued
    assert day.day.believed[0].import_price[evening] == 0.40  # at midnight
    assert day.day.believed[31].import_price[evening - 31] == 0.40  # 15:30
    assert day.day.believed[32].import_price[evening - 32] == 0.55  # 16:00: just fetched
    assert day.day.believed[10].pv_w[20 - 10] == 4000.0  # Solcast's 10:00, as believed
    assert day.day.actual.pv_w[20] == 0.0
    assert day.day.soc_start == pytest.approx(0.1) and day.soc_end == pytest.approx(0.1)
    assert [len(b) for b in day.day.believed] == [48 - k for k in range(48)]


def test_a_forecast_issued_late_leaves_the_half_hours_before_it_as_they_came(
    site_db: sqlite3.Connection,
) -> None:
    start, _ = record_day(site_db, the_day())
    site_db.execute(
        "UPDATE forecast_issues SET fetched_at = ? WHERE what = 'pv'", (start + 6 * 3600,)
    )
    day = recorded_day(site_db, DAY, ZONE)
    assert day.filled == {"prices": 0, "pv_w": 12, "load_w": 0}  # 00:00 to 06:00
    assert len(day.day.believed[0]) == 1 and day.day.believed[0].pv_w == (0.0,)
    assert len(day.day.believed[12]) == 36


def test_a_day_without_every_price_is_not_replayed(site_db: sqlite3.Connection) -> None:
    start, _ = record_day(site_db, the_day())
    site_db.execute("DELETE FROM price_issues WHERE start = ?", (start + 40 * 1800,))
    with pytest.raises(Unattributable, match="not every half hour of the day has a recorded price"):
        recorded_day(site_db, DAY, ZONE)
