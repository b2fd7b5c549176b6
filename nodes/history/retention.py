"""Pruning: each table's rows older than its retention go, a small batch at a time.

A batch is one short transaction, so a Raspberry Pi's SD card sees small writes
spread over the run, and the control tick never waits long for the database. A
run deletes at most ``max_rows`` per table; a backlog (an old database meeting
retention for the first time) is worked off over the following runs.

Only the tables named here are ever pruned: the accounting ledger's
(``ledger_*``) keep every entry for good, and no setting can reach them.
"""

from __future__ import annotations

import sqlite3

from flowengine import transaction
from nodes.history.schema import slot_start

#: Table -> the time column that decides when its rows go. Rows about a period
#: (slots, days, forecast intervals) go when the period has ended that long ago,
#: an issue's intervals all together, so "what did we believe" never half-answers.
TIME_COLUMNS: dict[str, str] = {
    "telemetry_samples": "timestamp",
    "history_30min": "slot_start",
    "history_daily": "end",
    "price_issues": "end",
    "forecast_issues": "end",
    "input_readings": "fetched_at",
    "input_calls": "at",
}
DEFAULT_BATCH = 500
DEFAULT_MAX_ROWS = 5000


def _exists(db: sqlite3.Connection, table: str) -> bool:
    row = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).fetchone()
    return row is not None


def cutoff(table: str, now: float, keep_s: float) -> float:
    """Rows of ``table`` timed before this go. Raw samples go in whole slots, so no slot
    is ever left with some of its samples."""
    before = now - keep_s
    return float(slot_start(before)) if table == "telemetry_samples" else before


def prune_batch(db: sqlite3.Connection, table: str, before: float, batch: int) -> int:
    """Delete up to ``batch`` rows of ``table`` timed before ``before``; how many went.

    The mark is kept in ``history_pruned`` (the recorder refuses raw samples behind it).
    """
    column = TIME_COLUMNS.get(table)
    if column is None:
        raise ValueError(
            f"history.prune: no retention for table {table!r} "
            f"(prunable: {', '.join(TIME_COLUMNS)}; the ledger's tables are kept forever)"
        )
    if not _exists(db, table):
        return 0
    with transaction(db):
        deleted = db.execute(
            f"DELETE FROM {table} WHERE rowid IN "
            f"(SELECT rowid FROM {table} WHERE {column} < ? LIMIT ?)",
            (before, batch),
        ).rowcount
        db.execute(
            "INSERT INTO history_pruned (table_name, before) VALUES (?, ?) "
            "ON CONFLICT (table_name) DO UPDATE SET before = MAX(before, excluded.before)",
            (table, before),
        )
    return int(deleted)
