"""Migration 2 over a real version-1 file with data in it, and a newer file refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from flowengine import Engine, Registry, VirtualClock, load_flow_text
from flowengine.database import open_database
from flowengine.migrations import SchemaTooNew, migrate, schema_version
from nodes.core import CONNECTION_TYPES, NODE_TYPES
from nodes.history import NODE_TYPES as HISTORY_TYPES
from nodes.history import load_history
from nodes.history.schema import COMPONENT, MIGRATIONS, SCHEMA, ensure_schema

START = 1_767_571_200  # 2026-01-05 00:00 UTC, 10:00 in Brisbane


def version_1_file(path: Path, stamped: bool = True) -> None:
    """A site.db as version 1 wrote it: two slots of samples and a seeded slot."""
    db = open_database(path, schema="")
    if stamped:
        migrate(db, COMPONENT, MIGRATIONS[:1])
    else:
        db.executescript(SCHEMA)  # from before versioning: the same tables, no stamp
    samples = [
        (START + 300 * i, 100.0 * (i + 1), 10.0, -50.0, 60.0 + i, (40 + i) / 100) for i in range(8)
    ]
    db.executemany("INSERT INTO telemetry_samples VALUES (?, ?, ?, ?, ?, ?)", samples)
    db.executemany(
        "INSERT INTO history_30min VALUES (?, ?, ?, ?, 'recorded')",
        [(START, 350.0, 10.0, 6), (START + 1800, 750.0, 10.0, 2)],
    )
    db.execute("INSERT INTO history_30min VALUES (?, 500.0, NULL, 0, 'seeded')", (START - 1800,))
    db.close()


def dump(db: sqlite3.Connection) -> list[Any]:
    tables = [
        name
        for (name,) in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
        )
    ]
    schema = db.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
    return [schema, *(db.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in tables)]


@pytest.mark.parametrize("stamped", [True, False])
def test_a_version_1_file_upgrades_in_place_keeping_its_rows(tmp_path: Path, stamped: bool) -> None:
    path = tmp_path / "site.db"
    version_1_file(path, stamped)
    db = open_database(path, schema="")
    ensure_schema(db)
    assert schema_version(db, COMPONENT) == 2
    assert db.execute(
        "SELECT slot_start, load_w, pv_w, samples, source, battery_w, grid_w, soc_min, soc_max, "
        "soc_last, pv_kwh, metered_s FROM history_30min ORDER BY slot_start"
    ).fetchall() == [
        (START - 1800, 500.0, None, 0, "seeded", None, None, None, None, None, None, 0),
        (START, 350.0, 10.0, 6, "recorded", -50.0, 62.5, 0.40, 0.45, 0.45, None, 0),
        (START + 1800, 750.0, 10.0, 2, "recorded", -50.0, 66.5, 0.46, 0.47, 0.47, None, 0),
    ]
    assert db.execute("SELECT COUNT(*), COUNT(pv_total_kwh) FROM telemetry_samples").fetchone() == (
        8,
        0,
    )
    assert load_history(db, START - 1800, START + 3600) == [
        (START - 1800, 500.0),
        (START, 350.0),
        (START + 1800, 750.0),
    ]
    ensure_schema(db)  # again: nothing to do
    assert schema_version(db, COMPONENT) == 2
    db.close()


async def test_the_record_node_gives_an_upgraded_file_its_days(tmp_path: Path) -> None:
    version_1_file(tmp_path / "site.db")
    registry = Registry()
    registry.add_all([*NODE_TYPES, *CONNECTION_TYPES, *HISTORY_TYPES])
    flow = """
flow: record
connections: [{id: store, type: core.sqlite, config: {file: site.db}}]
nodes: [{id: rec, type: history.record, config: {connection: store}}]
"""
    settings = {"site": {"timezone": "Australia/Brisbane"}}
    engine = Engine(registry, VirtualClock(START + 3600), settings=settings, data_dir=tmp_path)
    await engine.start(load_flow_text(flow, registry))
    await engine.stop()
    db = sqlite3.connect(tmp_path / "site.db")
    assert db.execute("SELECT date, load_w, samples FROM history_daily").fetchall() == [
        ("2026-01-05", (350.0 * 6 + 750.0 * 2) / 8, 8)  # seeded slots stay out of the days
    ]
    db.close()


def test_a_newer_file_is_refused_with_a_clear_message_and_left_untouched(
    tmp_path: Path,
) -> None:
    path = tmp_path / "site.db"
    version_1_file(path)
    db = open_database(path, schema="")
    ensure_schema(db)
    db.execute("UPDATE schema_versions SET version = 3 WHERE component = 'history'")
    before = dump(db)
    with pytest.raises(
        SchemaTooNew,
        match=r"history tables are at schema version 3, but this "
        r"release knows versions up to 2.*newer Power Master",
    ):
        ensure_schema(db)
    assert dump(db) == before
    db.close()
