"""Inputs kept in the site's SQLite database: every reading with its issue time, and calls.

Readings are kept so forecast accuracy can be measured later and so a restart
starts from the last good data without spending an API call; the call log lets
a provider count its calls against a daily quota across restarts.
"""

from __future__ import annotations

import json
import sqlite3

from flowengine import transaction
from nodes.inputs.reading import Reading

SCHEMA = """
CREATE TABLE IF NOT EXISTS input_readings (
    kind TEXT NOT NULL,
    provider TEXT NOT NULL,
    issued_at REAL NOT NULL,
    fetched_at REAL NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (kind, provider, fetched_at)
);
CREATE INDEX IF NOT EXISTS input_readings_issued ON input_readings (kind, provider, issued_at);
CREATE TABLE IF NOT EXISTS input_calls (
    provider TEXT NOT NULL,
    at REAL NOT NULL,
    ok INTEGER NOT NULL,
    status INTEGER,
    error TEXT
);
CREATE INDEX IF NOT EXISTS input_calls_at ON input_calls (provider, at);
"""


class InputStore:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        db.executescript(SCHEMA)

    def save(self, reading: Reading) -> None:
        with transaction(self.db):
            self.db.execute(
                "INSERT OR REPLACE INTO input_readings VALUES (?, ?, ?, ?, ?)",
                (
                    reading.kind,
                    reading.provider,
                    reading.issued_at,
                    reading.fetched_at,
                    json.dumps(reading.data, separators=(",", ":")),
                ),
            )

    def latest(self, kind: str, provider: str) -> Reading | None:
        row = self.db.execute(
            "SELECT issued_at, fetched_at, data FROM input_readings "
            "WHERE kind = ? AND provider = ? ORDER BY fetched_at DESC LIMIT 1",
            (kind, provider),
        ).fetchone()
        if row is None:
            return None
        return Reading(kind, provider, row[0], row[1], json.loads(row[2]))

    def issued_between(self, kind: str, provider: str, start: float, end: float) -> list[Reading]:
        rows = self.db.execute(
            "SELECT issued_at, fetched_at, data FROM input_readings WHERE kind = ? AND "
            "provider = ? AND issued_at >= ? AND issued_at < ? ORDER BY issued_at",
            (kind, provider, start, end),
        ).fetchall()
        return [Reading(kind, provider, r[0], r[1], json.loads(r[2])) for r in rows]

    def log_call(
        self, provider: str, at: float, ok: bool, status: int | None = None, error: str = ""
    ) -> None:
        with transaction(self.db):
            self.db.execute(
                "INSERT INTO input_calls VALUES (?, ?, ?, ?, ?)",
                (provider, at, int(ok), status, error or None),
            )

    def calls_since(self, provider: str, since: float) -> int:
        row = self.db.execute(
            "SELECT COUNT(*) FROM input_calls WHERE provider = ? AND at >= ?", (provider, since)
        ).fetchone()
        return int(row[0])

    def prune(self, before: float) -> None:
        with transaction(self.db):
            self.db.execute("DELETE FROM input_readings WHERE fetched_at < ?", (before,))
            self.db.execute("DELETE FROM input_calls WHERE at < ?", (before,))
