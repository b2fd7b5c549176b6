"""The history tables' DDL, kept in one place.

Versioned migrations come later; until then every writer and reader calls
``ensure_schema`` (idempotent, ``CREATE ... IF NOT EXISTS``) before first use.
"""

from __future__ import annotations

import sqlite3

#: Seconds in one roll-up slot (UTC epoch aligned, so :00 and :30 in whole-hour zones).
SLOT_SECONDS = 1800

SCHEMA = """
CREATE TABLE IF NOT EXISTS telemetry_samples (
    timestamp REAL PRIMARY KEY,
    load_w REAL,
    pv_w REAL,
    battery_w REAL,
    grid_w REAL,
    soc REAL
);
CREATE TABLE IF NOT EXISTS history_30min (
    slot_start INTEGER PRIMARY KEY,
    load_w REAL,
    pv_w REAL,
    samples INTEGER NOT NULL,
    source TEXT NOT NULL DEFAULT 'recorded'
);
"""


def ensure_schema(db: sqlite3.Connection) -> None:
    """Create the history tables if they are missing (idempotent, a few microseconds)."""
    db.executescript(SCHEMA)


def slot_start(timestamp: float) -> int:
    """The UTC epoch of the 30-minute slot containing ``timestamp``."""
    return int(timestamp // SLOT_SECONDS) * SLOT_SECONDS
