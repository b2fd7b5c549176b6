"""The engine's SQLite file: one file, WAL mode, survives power cuts."""

from __future__ import annotations

import sqlite3
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS context (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    updated REAL NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE TABLE IF NOT EXISTS traces (
    flow_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    started REAL NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (flow_id, run_id)
);
CREATE TABLE IF NOT EXISTS flow_versions (
    digest TEXT PRIMARY KEY,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS traces_by_outcome ON traces (flow_id, outcome, started);
"""


def open_database(path: Path | str, schema: str = SCHEMA) -> sqlite3.Connection:
    """Open (creating if needed) a database in WAL mode with ``schema`` applied."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=5000")
    if schema:
        conn.executescript(schema)
    return conn
