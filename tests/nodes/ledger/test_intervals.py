"""The ledger one interval to a row (``GET /api/ledger?view=intervals``): the ten or so
entries a tick posts folded into one row, money signed as a bill reads, zeros left out."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from flowengine.database import open_database
from flowengine.errors import InvalidRequest
from nodes.ledger.entries import EntryQuery, entries, interval_rows
from nodes.ledger.events import IntervalPrices, interval_events
from nodes.ledger.flows import IntervalEnergy
from nodes.ledger.store import ensure_schema, post
from nodes.ledger.wacb import CostBasis

BRISBANE = ZoneInfo("Australia/Brisbane")
START = datetime(2026, 1, 15, 8, 0, tzinfo=BRISBANE)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    conn = open_database(tmp_path / "site.db", schema="")
    ensure_schema(conn)
    yield conn
    conn.close()


def tick(
    start: datetime,
    *,
    pv: float = 0.0,
    load: float = 0.0,
    grid_import: float = 0.0,
    grid_export: float = 0.0,
    charge: float = 0.0,
    discharge: float = 0.0,
    buy: float = 0.30,
    sell: float = 0.05,
    basis: float = 0.10,
    stored: float = 5.0,
) -> list[dict[str, Any]]:
    """A five-minute interval's entries as ledger.post makes them, with both baselines."""
    end = start + timedelta(minutes=5)
    energy = IntervalEnergy(
        pv=pv,
        load=load,
        grid_import=grid_import,
        grid_export=grid_export,
        battery_charge=charge,
        battery_discharge=discharge,
    )
    made = interval_events(
        start,
        end,
        energy,
        IntervalPrices(buy, sell),
        CostBasis(stored, basis),
        eta_charge=0.95,
        eta_discharge=0.95,
    )
    key = end.astimezone(UTC).isoformat()
    baselines = [
        {
            "key": f"{key}/baseline_no_battery",
            "kind": "baseline_no_battery",
            "at": start.timestamp(),
            "kwh": load - pv,
            "price": None,
            "amount": -(max(0.0, load - pv) * buy - max(0.0, pv - load) * sell),
        },
        {
            "key": f"{key}/baseline_self_use",
            "kind": "baseline_self_use",
            "at": start.timestamp(),
            "kwh": 0.0,
            "price": None,
            "amount": 0.0,
        },
    ]
    return [e.as_dict() for e in made.events] + baselines


def test_one_intervals_entries_are_one_row_with_columns() -> None:
    # 1 kWh of load: 0.4 from the grid at 30c, 0.6 from the battery (basis 10c).
    posted = tick(START, load=1.0, grid_import=0.4, discharge=0.6)
    assert len(posted) == 10
    (row,) = interval_rows(posted)
    assert row["import_kwh"] == pytest.approx(0.4)
    assert row["import_price"] == 0.30
    assert row["import_cost"] == pytest.approx(0.12)  # paid: positive
    assert row["export_kwh"] is None and row["export_revenue"] is None  # zeros left out
    assert row["bill"] == pytest.approx(0.12)
    assert row["battery_out_home_kwh"] == pytest.approx(0.6)
    assert row["battery_out_grid_kwh"] is None and row["battery_in_grid_kwh"] is None
    # 0.6 kWh worth 30c each, which cost 0.6 / 0.95 x 10c to store: a margin of 0.1168.
    assert row["battery_margin"] == pytest.approx(0.18 - 0.6 / 0.95 * 0.10)
    # With no battery the whole 1 kWh at 30c: 0.30, so 0.18 saved against it.
    assert row["no_battery_cost"] == pytest.approx(0.30)
    assert row["no_battery_saving"] == pytest.approx(0.18)
    assert row["self_use_cost"] is None and row["self_use_saving"] == pytest.approx(-0.12)
    assert row["settlement"] is False


def test_battery_to_grid_is_earned_and_a_negative_price_is_paid_to_import() -> None:
    # The battery sells 1 kWh at 20c; five minutes later 0.5 kWh is bought at -5c.
    sold = tick(START, grid_export=1.0, discharge=1.0, sell=0.20)
    bought = tick(START + timedelta(minutes=5), load=0.5, grid_import=0.5, buy=-0.05)
    later, first = interval_rows(sold + bought)
    assert first["battery_out_grid_kwh"] == pytest.approx(1.0)
    assert first["battery_out_grid_earned"] == pytest.approx(0.20)  # earnings, not a cost
    assert first["export_revenue"] == pytest.approx(0.20) and first["bill"] == pytest.approx(-0.20)
    # Its margin: 0.20 earned less 1 / 0.95 x 10c of stored energy, a gain.
    assert first["battery_margin"] == pytest.approx(0.20 - 0.10 / 0.95)
    assert later["import_cost"] == pytest.approx(-0.025)  # below zero: paid to import
    assert later["import_price"] == -0.05 and later["bill"] == pytest.approx(-0.025)


def test_an_interval_where_nothing_moved_is_left_out_and_rows_are_newest_first() -> None:
    still = tick(START)  # ten entries of nothing
    later = tick(START + timedelta(minutes=5), pv=0.3, load=0.1, grid_export=0.2)
    rows = interval_rows(still + later)
    assert [row["at"] for row in rows] == [(START + timedelta(minutes=5)).timestamp()]
    (row,) = rows
    assert row["export_revenue"] == pytest.approx(0.01)
    assert row["self_consumption_kwh"] == pytest.approx(0.1)
    # No battery would have exported the same 0.2 kWh: nothing saved, so nothing shown.
    assert row["no_battery_cost"] == pytest.approx(-0.01) and row["no_battery_saving"] is None


def test_a_settlement_is_a_row_of_its_own() -> None:
    posted = tick(START, load=0.2, grid_import=0.2)
    slot_end = (START + timedelta(minutes=30)).astimezone(UTC).isoformat()
    posted.append(
        {
            "key": f"{slot_end}/import_settlement",
            "at": START.timestamp(),
            "kind": "import_settlement",
            "kwh": 0.05,
            "price": 0.30,
            "amount": -0.015,
        }
    )
    settled, ticked = sorted(interval_rows(posted), key=lambda row: row["end"], reverse=True)
    assert settled["settlement"] is True and settled["end"] == slot_end
    assert settled["settlement_paid"] == pytest.approx(0.015)
    assert settled["bill"] == pytest.approx(0.015)
    assert ticked["settlement"] is False and ticked["settlement_paid"] is None


def test_the_api_pages_by_interval_and_filters_by_kind(db: sqlite3.Connection) -> None:
    for i in range(6):
        at = START + timedelta(minutes=5 * i)
        post(db, tick(at, load=0.2, grid_import=0.2) if i % 2 else tick(at))
    post(db, tick(START + timedelta(minutes=30), pv=0.5, load=0.1, grid_export=0.4))
    query = EntryQuery.parse({"view": "intervals", "limit": "2"}, BRISBANE)
    page = entries(db, query, BRISBANE)
    assert page["view"] == "intervals" and page["more"] is True
    assert [row["start"] for row in page["intervals"]] == [
        "2026-01-15T08:30:00+10:00",
        "2026-01-15T08:25:00+10:00",
    ]
    assert page["intervals"][0]["end"] == "2026-01-15T08:35:00+10:00"
    everything = entries(db, EntryQuery.parse({"view": "intervals"}, BRISBANE), BRISBANE)
    assert len(everything["intervals"]) == 4  # three with imports, one export; still ones out
    assert everything["more"] is False
    exports = entries(
        db, EntryQuery.parse({"view": "intervals", "kind": "export_revenue"}, BRISBANE), BRISBANE
    )
    assert [row["start"] for row in exports["intervals"]] == ["2026-01-15T08:30:00+10:00"]


def test_a_bad_view_is_named() -> None:
    with pytest.raises(InvalidRequest) as refused:
        EntryQuery.parse({"view": "rows"}, BRISBANE)
    assert [p.field for p in refused.value.problems] == ["view"]
