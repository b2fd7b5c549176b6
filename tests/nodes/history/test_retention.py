"""Retention: each table pruned past its own retention, by the engine's clock, in batches."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from flowengine import Engine, VirtualClock, load_flow_text
from flowengine.database import open_database
from flowengine.errors import InvalidFlows
from nodes.history import NODE_TYPES as HISTORY_TYPES
from nodes.history.counters import counter_values
from nodes.history.retention import prune_batch
from nodes.history.schema import ensure_schema
from nodes.history.settings import retention_seconds, retentions
from nodes.history.store import record_sample, sample_values
from powermaster.config import load_site_config
from tests.flowengine.helpers import Collect
from tests.nodes.history.conftest import energy, sample
from tests.support.registry import registry

DAY = 86400.0
NOW = 1_767_571_200.0  # 2026-01-05 00:00 UTC

FLOW = """
flow: prune
connections:
  - {id: store, type: core.sqlite, config: {file: site.db}}
nodes:
  - {id: prune, type: history.prune, config: {connection: store, batch: 2, max_rows: 3},
     wires: [seen]}
  - {id: seen, type: test.collect}
"""


def test_retention_is_a_duration_a_number_of_days_or_forever() -> None:
    assert retention_seconds("90d") == 90 * DAY
    assert retention_seconds("12h") == 12 * 3600
    assert retention_seconds(30) == 30 * DAY  # not thirty seconds
    assert retention_seconds(None) is None
    kept = retentions({"history": {"retention": {"telemetry_samples": "7d"}}})
    assert (kept["telemetry_samples"], kept["history_30min"], kept["history_daily"]) == (
        7 * DAY,
        730 * DAY,
        None,
    )
    assert not any(table.startswith("ledger") for table in kept)


def test_the_site_config_takes_a_history_section(tmp_path: Path) -> None:
    site = tmp_path / "site.yaml"
    site.write_text("history:\n  retention: {telemetry_samples: 10d, history_daily: null}\n")
    config = load_site_config(site)
    assert config["history"]["retention"]["telemetry_samples"] == "10d"
    site.write_text("history:\n  retention:\n    ledger_events: 30d\n")
    with pytest.raises(InvalidFlows, match="ledger_events"):
        load_site_config(site)


def fill(db: sqlite3.Connection) -> None:
    """Rows either side of each table's default retention, and a ledger table's old rows."""
    ensure_schema(db)
    for age in (40 * DAY, 20 * DAY, 10 * DAY, 5 * DAY, 1 * DAY):
        t = NOW - age
        db.execute("INSERT INTO telemetry_samples (timestamp, load_w) VALUES (?, 1)", (t,))
        db.execute(
            "INSERT INTO price_issues VALUES ('amber', ?, ?, ?, ?, 0.3, 0.1, 'actual', 'none')",
            (t, t - 3600, t + 1800, t - 3600),
        )
    for age in (100 * DAY, 80 * DAY):
        t = NOW - age
        db.execute(
            "INSERT INTO forecast_issues VALUES ('pv', 'solcast', ?, ?, ?, ?, 1, 1, 1)",
            (t, t - 3600, t + 1800, t - 3600),
        )
    db.execute("INSERT INTO history_30min (slot_start, samples) VALUES (?, 1)", (NOW - 800 * DAY,))
    db.execute(
        "INSERT INTO history_daily (date, start, end, samples) VALUES ('2023-01-01', ?, ?, 1)",
        (NOW - 1000 * DAY, NOW - 999 * DAY),
    )
    db.execute("CREATE TABLE ledger_events (at REAL, amount REAL)")
    db.execute("INSERT INTO ledger_events VALUES (?, 1.0)", (NOW - 5000 * DAY,))


def count(db: sqlite3.Connection, table: str) -> int:
    return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


async def test_prune_follows_the_engine_clock_in_small_batches(tmp_path: Path) -> None:
    db = open_database(tmp_path / "site.db", schema="")
    fill(db)
    settings: dict[str, Any] = {"history": {"retention": {"price_issues": "7d"}}}
    reg = registry(*HISTORY_TYPES)
    clock = VirtualClock(NOW)
    Collect.seen = {}
    engine = Engine(reg, clock, settings=settings, data_dir=tmp_path)
    await engine.start(load_flow_text(FLOW, reg))
    for _ in range(2):
        handle = engine.start_run("prune", None)
        assert handle is not None
        assert (await handle.wait()).outcome == "ok"
    await engine.stop()

    first, second = Collect.seen["seen"]
    assert first["telemetry_samples"] == 1 and first["price_issues"] == 3  # max_rows 3 a run
    assert second["price_issues"] == 0 and second["telemetry_samples"] == 0
    assert count(db, "telemetry_samples") == 4  # only the 40-day-old sample is past 30 days
    assert count(db, "price_issues") == 2  # 7 days: the 1- and 5-day-old intervals stay
    assert count(db, "forecast_issues") == 1  # 90 days: the 100-day-old one went
    assert count(db, "history_30min") == 0  # 800 days old, past two years
    assert count(db, "history_daily") == 1  # forever
    assert count(db, "ledger_events") == 1  # never ours to prune
    db.close()


def test_a_batch_deletes_no_more_than_asked(site_db: sqlite3.Connection) -> None:
    fill(site_db)
    assert prune_batch(site_db, "telemetry_samples", NOW, 2) == 2
    assert count(site_db, "telemetry_samples") == 3
    with pytest.raises(ValueError, match="ledger's tables are kept forever"):
        prune_batch(site_db, "ledger_events", NOW, 10)


def test_a_sample_behind_the_prune_mark_is_refused(site_db: sqlite3.Connection) -> None:
    payloads = [
        sample(NOW + i * 300, 100.0 * i, counters=energy(i, i, 0, 0, 0, 0)) for i in range(12)
    ]
    for payload in payloads:
        record_sample(
            site_db,
            payload["timestamp"],
            sample_values(payload),
            counter_values(payload["energy_kwh"]),
        )
    prune_batch(site_db, "telemetry_samples", NOW + 1800, 100)  # the first slot's samples go
    before = site_db.execute("SELECT * FROM history_30min ORDER BY 1").fetchall()
    late = sample(NOW + 600, 5000.0, counters=energy(2, 2, 0, 0, 0, 0))
    assert not record_sample(
        site_db, NOW + 600, sample_values(late), counter_values(late["energy_kwh"])
    )
    assert site_db.execute("SELECT * FROM history_30min ORDER BY 1").fetchall() == before
    assert before[0][1] == 250.0  # the first slot's mean, from samples long gone
