"""Prices and forecasts by issue time: changes only, and what we believed at any moment."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flowengine import Engine, VirtualClock, default_registry
from flowengine.context import GLOBAL
from flowengine.validate import load_flow_files
from flows import FLOWS_DIR
from nodes.history import forecast_believed_at, prices_believed_at
from nodes.history.issues import plan_load, record_forecast, record_prices
from nodes.history.schema import ensure_schema

T0 = 1_767_571_200.0  # 2026-01-05 00:00 UTC
HALF_HOUR = 1800.0


def prices(issued: float, imports: list[float], fetched: float | None = None) -> dict[str, Any]:
    """An Amber-like reading: an interval per price from T0, feed-in a tenth of import."""
    intervals = [
        {
            "start": T0 + i * HALF_HOUR,
            "end": T0 + (i + 1) * HALF_HOUR,
            "import_price": p,
            "export_price": p / 10,
            "type": "forecast",
            "estimate": True,
            "spike": "none",
            "descriptor": None,
            "renewables": None,
        }
        for i, p in enumerate(imports)
    ]
    return {
        "kind": "prices",
        "provider": "amber",
        "issued_at": issued,
        "fetched_at": issued if fetched is None else fetched,
        "data": {"intervals": intervals},
    }


def pv(issued: float, p50: list[float]) -> dict[str, Any]:
    periods = [
        {
            "start": T0 + i * HALF_HOUR,
            "end": T0 + (i + 1) * HALF_HOUR,
            "p50_w": w,
            "p10_w": w / 2,
            "p90_w": w * 1.2,
        }
        for i, w in enumerate(p50)
    ]
    return {
        "kind": "pv",
        "provider": "solcast",
        "issued_at": issued,
        "fetched_at": issued + 5,
        "data": {"periods": periods},
    }


def plan(created: float, loads: list[float]) -> dict[str, Any]:
    iso = [datetime.fromtimestamp(T0 + i * HALF_HOUR, UTC).isoformat() for i in range(len(loads))]
    slots = [{"start": s, "load_w": w, "mode": "self_use"} for s, w in zip(iso, loads, strict=True)]
    return {
        "created_at": datetime.fromtimestamp(created, UTC).isoformat(),
        "slots": slots,
        "built_from": {"load_source": "predicted"},
    }


def believed(db: sqlite3.Connection, at: float) -> list[float]:
    return [row["import_price"] for row in prices_believed_at(db, at)]


def test_only_changed_intervals_are_stored(site_db: sqlite3.Connection) -> None:
    ensure_schema(site_db)
    assert record_prices(site_db, prices(T0 - 600, [0.30, 0.40, 0.50])) == 3
    assert record_prices(site_db, prices(T0 - 300, [0.30, 0.40, 0.50])) == 0  # re-fetched
    assert record_prices(site_db, prices(T0 - 600, [0.30, 0.99, 0.50])) == 0  # a stored issue
    assert record_prices(site_db, prices(T0, [0.30, 0.45, 0.50, 0.60])) == 2  # one moved, one new
    assert site_db.execute("SELECT COUNT(*) FROM price_issues").fetchone() == (5,)


def test_what_we_believed_at_any_moment(site_db: sqlite3.Connection) -> None:
    ensure_schema(site_db)
    record_prices(site_db, prices(T0 - 600, [0.30, 0.40, 0.50]))
    record_prices(site_db, prices(T0 - 300, [0.30, 0.40, 0.50]))
    record_prices(site_db, prices(T0, [0.30, 0.45, 0.50, 0.60]))
    assert believed(site_db, T0 - 601) == []
    assert believed(site_db, T0 - 600) == [0.30, 0.40, 0.50]
    assert believed(site_db, T0 - 1) == [0.30, 0.40, 0.50]  # the unchanged re-issue
    assert believed(site_db, T0 + 3600) == [0.30, 0.45, 0.50, 0.60]
    (second,) = prices_believed_at(site_db, T0 - 1, since=T0 + 1800, until=T0 + 3600)
    assert second == {
        "provider": "amber",
        "start": T0 + 1800,
        "issued_at": T0 - 600,
        "end": T0 + 3600,
        "fetched_at": T0 - 600,
        "import_price": 0.40,
        "export_price": 0.04,
        "type": "forecast",
        "spike": "none",
    }


def test_belief_counts_from_when_a_reading_was_fetched(site_db: sqlite3.Connection) -> None:
    ensure_schema(site_db)
    record_prices(site_db, prices(T0 - 600, [0.30]))
    record_prices(site_db, prices(T0 - 300, [0.35], fetched=T0))  # issued earlier, known at T0
    assert believed(site_db, T0 - 1) == [0.30]
    assert believed(site_db, T0) == [0.35]


def test_pv_and_load_forecasts_by_issue(site_db: sqlite3.Connection) -> None:
    ensure_schema(site_db)
    reading = pv(T0 - 3600, [0.0, 1000.0])
    assert (
        record_forecast(
            site_db,
            "pv",
            "solcast",
            reading["issued_at"],
            reading["fetched_at"],
            [
                (T0, (T0 + HALF_HOUR, 0.0, 0.0, 0.0)),
                (T0 + HALF_HOUR, (T0 + 2 * HALF_HOUR, 1000.0, 500.0, 1200.0)),
            ],
        )
        == 2
    )
    source, issued, rows = plan_load(plan(T0 - 1800, [400.0, 500.0]))
    assert (source, issued) == ("predicted", T0 - 1800)
    assert rows[1] == (T0 + HALF_HOUR, (T0 + 2 * HALF_HOUR, 500.0, None, None))
    record_forecast(site_db, "load", source, issued, issued, rows)
    source, issued, rows = plan_load(plan(T0 - 900, [400.0, 650.0]))
    assert record_forecast(site_db, "load", source, issued, issued, rows) == 1
    loads = forecast_believed_at(site_db, "load", T0 - 1000)
    assert [(r["start"], r["value_w"]) for r in loads] == [(T0, 400.0), (T0 + HALF_HOUR, 500.0)]
    loads = forecast_believed_at(site_db, "load", T0)
    assert [r["value_w"] for r in loads] == [400.0, 650.0]
    solar = forecast_believed_at(site_db, "pv", T0)
    assert [(r["provider"], r["value_w"], r["p10_w"]) for r in solar] == [
        ("solcast", 0.0, 0.0),
        ("solcast", 1000.0, 500.0),
    ]


CONNECTIONS = """
connections:
  - id: site_db
    type: core.sqlite
    config: {file: site.db}
"""


async def test_the_shipped_history_flow_records_every_new_reading(tmp_path: Path) -> None:
    (tmp_path / "connections.yaml").write_text(CONNECTIONS)
    registry = default_registry()
    files = [tmp_path / "connections.yaml", FLOWS_DIR / "history.yaml", FLOWS_DIR / "errors.yaml"]
    flows = load_flow_files(files, registry)
    clock = VirtualClock(T0 - 600)
    engine = Engine(registry, clock, data_dir=tmp_path)
    await engine.start(flows)
    engine.context.set(GLOBAL, "prices", prices(T0 - 600, [0.30, 0.40]))
    engine.context.set(GLOBAL, "pv", pv(T0 - 600, [0.0, 800.0]))
    engine.context.set(GLOBAL, "plan", plan(T0 - 600, [300.0, 350.0]))
    await engine.settle()
    await clock.advance(300)
    engine.context.set(GLOBAL, "prices", prices(T0 - 300, [0.30, 0.42]))
    await engine.settle()
    await engine.stop()

    db = sqlite3.connect(tmp_path / "site.db")
    assert db.execute("SELECT COUNT(*) FROM price_issues").fetchone()[0] == 3
    assert db.execute(
        "SELECT what, provider, COUNT(*) FROM forecast_issues GROUP BY what ORDER BY what"
    ).fetchall() == [("load", "predicted", 2), ("pv", "solcast", 2)]
    assert believed(db, T0) == [0.30, 0.42]
    db.close()
