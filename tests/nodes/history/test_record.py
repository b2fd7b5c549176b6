"""history.record over a real SQLite file: raw samples, 30-minute means, idempotency."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from flowengine import Engine, VirtualClock, load_flow_text
from flowengine.database import open_database
from nodes.history import NODE_TYPES as HISTORY_TYPES
from nodes.history import load_history, record_sample, seed_history
from nodes.history.store import sample_values
from tests.flowengine.helpers import Collect
from tests.support.registry import registry

START = datetime(2026, 1, 5, 0, 0, tzinfo=UTC).timestamp()

FLOW = """
flow: record
connections:
  - id: store
    type: core.sqlite
    config: {file: history.db}
nodes:
  - {id: rec, type: history.record, config: {connection: store}, wires: [seen]}
  - {id: seen, type: test.collect}
"""


def telemetry(t: float, load: float, pv: float = 0.0) -> dict[str, Any]:
    return {
        "timestamp": t,
        "soc": 0.5,
        "pv_w": pv,
        "load_w": load,
        "battery_w": 0.0,
        "grid_w": load - pv,
    }


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    conn = open_database(tmp_path / "site.db", schema="")
    yield conn
    conn.close()


def rollup(db: sqlite3.Connection) -> list[tuple[Any, ...]]:
    return db.execute(
        "SELECT slot_start, load_w, pv_w, samples, source FROM history_30min ORDER BY slot_start"
    ).fetchall()


def test_samples_roll_up_into_half_hour_means(db: sqlite3.Connection) -> None:
    for i, load in enumerate([100, 200, 300, 400, 500, 600, 1000]):
        t = START + i * 300
        assert record_sample(db, t, sample_values(telemetry(t, load, pv=10 * i)))
    assert db.execute("SELECT COUNT(*) FROM telemetry_samples").fetchone() == (7,)
    assert rollup(db) == [
        (int(START), 350.0, 25.0, 6, "recorded"),
        (int(START) + 1800, 1000.0, 60.0, 1, "recorded"),
    ]


def test_a_replayed_sample_is_not_counted_twice(db: sqlite3.Connection) -> None:
    assert record_sample(db, START, sample_values(telemetry(START, 100)))
    assert not record_sample(db, START, sample_values(telemetry(START, 900)))
    assert record_sample(db, START + 300, sample_values(telemetry(START + 300, 300)))
    assert rollup(db) == [(int(START), 200.0, 0.0, 2, "recorded")]


def test_load_is_derived_from_the_balance_when_missing() -> None:
    values = sample_values({"pv_w": 3000, "grid_w": -500, "battery_w": 1500, "soc": 0.4})
    assert values["load_w"] == 1000.0
    assert sample_values({"pv_w": 3000})["load_w"] is None
    assert sample_values({"load_w": float("nan"), "soc": True})["soc"] is None


def test_seeded_history_fills_the_table_without_overwriting_recordings(
    db: sqlite3.Connection,
) -> None:
    record_sample(db, START, sample_values(telemetry(START, 100)))
    added = seed_history(db, [START - 1800, START], [700.0, 999.0], [5.0, 5.0])
    assert added == 1
    assert rollup(db) == [
        (int(START) - 1800, 700.0, 5.0, 0, "seeded"),
        (int(START), 100.0, 0.0, 1, "recorded"),
    ]
    assert load_history(db, START - 3600, START + 1800) == [
        (int(START) - 1800, 700.0),
        (int(START), 100.0),
    ]
    with pytest.raises(ValueError):
        seed_history(db, [START], [1.0, 2.0])


async def test_record_node_in_an_engine_writes_a_wal_file(tmp_path: Path) -> None:
    reg = registry(*HISTORY_TYPES)
    clock = VirtualClock(START)
    Collect.seen = {}
    engine = Engine(reg, clock, data_dir=tmp_path)
    await engine.start(load_flow_text(FLOW, reg))
    sent = []
    for i in range(8):
        payload = telemetry(clock.time(), 100.0 * (i + 1))
        sent.append(dict(payload))
        handle = engine.start_run("record", payload)
        assert handle is not None
        assert (await handle.wait()).outcome == "ok"
        await clock.advance(300)
    replay = engine.start_run("record", telemetry(START, 5000.0))  # same timestamp again
    assert replay is not None
    await replay.wait()
    await engine.stop()

    assert Collect.seen["seen"][:8] == sent  # passed on unchanged
    db = sqlite3.connect(tmp_path / "history.db")
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert db.execute("SELECT COUNT(*) FROM telemetry_samples").fetchone() == (8,)
    assert rollup(db) == [
        (int(START), 350.0, 0.0, 6, "recorded"),
        (int(START) + 1800, 750.0, 0.0, 2, "recorded"),
    ]
    db.close()


def test_history_written_by_a_newer_release_is_refused(tmp_path: Path) -> None:
    from flowengine.migrations import SchemaTooNew
    from nodes.history.schema import ensure_schema

    db = open_database(tmp_path / "site.db", schema="")
    ensure_schema(db)
    db.execute("UPDATE schema_versions SET version = 99 WHERE component = 'history'")
    with pytest.raises(SchemaTooNew, match="version 99"):
        ensure_schema(db)
