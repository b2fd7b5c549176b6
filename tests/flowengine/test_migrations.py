"""Versioned migrations: an old database upgrades, a newer one is refused untouched."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from flowengine.database import open_database
from flowengine.migrations import Migration, SchemaTooNew, migrate, schema_version

V1 = Migration(1, "CREATE TABLE IF NOT EXISTS samples (t REAL PRIMARY KEY, w REAL);", "samples")
V2 = Migration(
    2,
    "ALTER TABLE samples ADD COLUMN source TEXT NOT NULL DEFAULT 'recorded';\n"
    "CREATE INDEX samples_by_source ON samples (source);",
    "where each sample came from",
)


def database(tmp_path: Path) -> sqlite3.Connection:
    return open_database(tmp_path / "site.db", schema="")


def test_a_new_database_gets_every_version(tmp_path: Path) -> None:
    db = database(tmp_path)
    assert migrate(db, "history", [V1, V2]) == 2
    db.execute("INSERT INTO samples (t, w) VALUES (1, 2)")
    assert db.execute("SELECT source FROM samples").fetchone() == ("recorded",)
    assert migrate(db, "history", [V1, V2]) == 2  # again: nothing to do


def test_a_database_from_before_versioning_is_adopted_and_upgraded(tmp_path: Path) -> None:
    db = database(tmp_path)
    db.execute("CREATE TABLE samples (t REAL PRIMARY KEY, w REAL)")  # an early release's
    db.execute("INSERT INTO samples VALUES (10, 500)")
    assert schema_version(db, "history") == 0
    migrate(db, "history", [V1, V2])
    assert schema_version(db, "history") == 2
    assert db.execute("SELECT t, w, source FROM samples").fetchall() == [(10, 500, "recorded")]


def test_components_version_independently(tmp_path: Path) -> None:
    db = database(tmp_path)
    migrate(db, "history", [V1, V2])
    other = Migration(1, "CREATE TABLE IF NOT EXISTS ledger (id INTEGER PRIMARY KEY);", "ledger")
    migrate(db, "ledger", [other])
    assert (schema_version(db, "history"), schema_version(db, "ledger")) == (2, 1)


def test_a_newer_database_is_refused_with_a_clear_message_and_left_alone(tmp_path: Path) -> None:
    db = database(tmp_path)
    migrate(db, "history", [V1, V2])
    before = db.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall()
    with pytest.raises(
        SchemaTooNew,
        match=r"history tables are at schema version 2, but this "
        r"release knows versions up to 1.*newer Power Master",
    ):
        migrate(db, "history", [V1])
    assert db.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall() == before


def test_a_failing_step_leaves_the_previous_version_whole(tmp_path: Path) -> None:
    db = database(tmp_path)
    migrate(db, "history", [V1])
    broken = Migration(
        2, "ALTER TABLE samples ADD COLUMN source TEXT;\nSELECT nonsense FROM x;", "broken"
    )
    with pytest.raises(sqlite3.OperationalError):
        migrate(db, "history", [V1, broken])
    assert schema_version(db, "history") == 1
    columns = [row[1] for row in db.execute("PRAGMA table_info(samples)")]
    assert columns == ["t", "w"]  # the ALTER before the failure was rolled back


def test_migrations_must_be_numbered_without_gaps(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="without gaps"):
        migrate(database(tmp_path), "history", [V2])
