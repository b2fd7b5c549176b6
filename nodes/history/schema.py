"""The history tables' DDL, as versioned migrations (``flowengine.migrations``).

``ensure_schema`` brings a database up to the newest version (the history node
runs it at start) and refuses one a newer release wrote. Version 1 is the
tables as they were before versioning, so such a database is adopted as it is.
"""

from __future__ import annotations

import sqlite3

from flowengine.migrations import Migration, migrate

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


COMPONENT = "history"
MIGRATIONS = (Migration(1, SCHEMA, "telemetry samples and their 30-minute means"),)


def ensure_schema(db: sqlite3.Connection) -> None:
    """The history tables at the newest version (``SchemaTooNew`` for a newer file)."""
    migrate(db, COMPONENT, MIGRATIONS)


def slot_start(timestamp: float) -> int:
    """The UTC epoch of the 30-minute slot containing ``timestamp``."""
    return int(timestamp // SLOT_SECONDS) * SLOT_SECONDS
