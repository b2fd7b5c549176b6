"""The history tables' DDL, as versioned migrations (``flowengine.migrations``).

``ensure_schema`` brings a database up to the newest version (the history nodes
run it at start) and refuses one a newer release wrote. Version 1 is the
tables as they were before versioning, so such a database is adopted as it is.
Version 2 keeps every row of version 1 and adds, in place: the inverter's
energy counters on each sample, the 30-minute roll-up's other means, SOC and
energies, the daily roll-up, prices and forecasts by issue, and prune marks.
"""

from __future__ import annotations

import sqlite3

from flowengine.migrations import Migration, migrate

#: Seconds in one roll-up slot (UTC epoch aligned, so :00 and :30 in whole-hour zones).
SLOT_SECONDS = 1800

#: The inverter's cumulative counters (telemetry ``energy_kwh``), as nodes/foxess names them.
COUNTERS = ("pv", "load", "grid_import", "grid_export", "battery_charge", "battery_discharge")

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

_ADD_COUNTERS = "".join(
    f"ALTER TABLE telemetry_samples ADD COLUMN {name}_total_kwh REAL;\n" for name in COUNTERS
)
_ADD_ENERGIES = "".join(
    f"ALTER TABLE history_30min ADD COLUMN {name}_kwh REAL;\n" for name in COUNTERS
)
_DAILY_ENERGIES = "".join(f"    {name}_kwh REAL,\n" for name in COUNTERS)

#: What version 1 recorded but did not roll up is filled in from its raw samples.
_BACKFILL = """
UPDATE history_30min SET
    battery_w = (SELECT AVG(battery_w) FROM telemetry_samples
                 WHERE timestamp >= slot_start AND timestamp < slot_start + 1800),
    grid_w = (SELECT AVG(grid_w) FROM telemetry_samples
              WHERE timestamp >= slot_start AND timestamp < slot_start + 1800),
    soc_min = (SELECT MIN(soc) FROM telemetry_samples
               WHERE timestamp >= slot_start AND timestamp < slot_start + 1800),
    soc_max = (SELECT MAX(soc) FROM telemetry_samples
               WHERE timestamp >= slot_start AND timestamp < slot_start + 1800),
    soc_last = (SELECT soc FROM telemetry_samples
                WHERE timestamp >= slot_start AND timestamp < slot_start + 1800
                ORDER BY timestamp DESC LIMIT 1)
WHERE source = 'recorded';
"""

SCHEMA_V2 = f"""
{_ADD_COUNTERS}
ALTER TABLE history_30min ADD COLUMN battery_w REAL;
ALTER TABLE history_30min ADD COLUMN grid_w REAL;
ALTER TABLE history_30min ADD COLUMN soc_min REAL;
ALTER TABLE history_30min ADD COLUMN soc_max REAL;
ALTER TABLE history_30min ADD COLUMN soc_last REAL;
{_ADD_ENERGIES}
ALTER TABLE history_30min ADD COLUMN metered_s REAL NOT NULL DEFAULT 0;
{_BACKFILL}
CREATE TABLE history_daily (
    date TEXT PRIMARY KEY,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    load_w REAL,
    pv_w REAL,
    battery_w REAL,
    grid_w REAL,
    soc_min REAL,
    soc_max REAL,
    soc_last REAL,
{_DAILY_ENERGIES}    metered_s REAL NOT NULL DEFAULT 0,
    samples INTEGER NOT NULL
);
CREATE INDEX history_daily_by_start ON history_daily (start);
CREATE TABLE price_issues (
    provider TEXT NOT NULL,
    start REAL NOT NULL,
    issued_at REAL NOT NULL,
    end REAL NOT NULL,
    fetched_at REAL NOT NULL,
    import_price REAL,
    export_price REAL,
    type TEXT,
    spike TEXT,
    PRIMARY KEY (provider, start, issued_at)
);
CREATE INDEX price_issues_by_end ON price_issues (end);
CREATE INDEX price_issues_by_fetch ON price_issues (fetched_at);
CREATE TABLE forecast_issues (
    what TEXT NOT NULL,
    provider TEXT NOT NULL,
    start REAL NOT NULL,
    issued_at REAL NOT NULL,
    end REAL NOT NULL,
    fetched_at REAL NOT NULL,
    value_w REAL,
    p10_w REAL,
    p90_w REAL,
    PRIMARY KEY (what, provider, start, issued_at)
);
CREATE INDEX forecast_issues_by_end ON forecast_issues (end);
CREATE INDEX forecast_issues_by_fetch ON forecast_issues (what, fetched_at);
CREATE TABLE history_pruned (
    table_name TEXT PRIMARY KEY,
    before REAL NOT NULL
);
"""

COMPONENT = "history"
MIGRATIONS = (
    Migration(1, SCHEMA, "telemetry samples and their 30-minute means"),
    Migration(
        2,
        SCHEMA_V2,
        "energy counters, 30-minute and daily roll-ups, prices and forecasts by issue",
    ),
)


def ensure_schema(db: sqlite3.Connection) -> None:
    """The history tables at the newest version (``SchemaTooNew`` for a newer file)."""
    migrate(db, COMPONENT, MIGRATIONS)


def slot_start(timestamp: float) -> int:
    """The UTC epoch of the 30-minute slot containing ``timestamp``."""
    return int(timestamp // SLOT_SECONDS) * SLOT_SECONDS
