"""Reading and writing the site's own history: raw samples and 30-minute means.

The 30-minute row is recomputed from the raw samples of its slot on every write,
so a replayed sample (same timestamp) changes nothing and the means stay exact.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from nodes.history.schema import SLOT_SECONDS, ensure_schema, slot_start

FIELDS = ("load_w", "pv_w", "battery_w", "grid_w", "soc")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


@contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    """One atomic write, whether or not the connection is in autocommit mode."""
    if not db.in_transaction:
        db.execute("BEGIN")
    try:
        yield
    except BaseException:
        db.rollback()
        raise
    db.commit()


def sample_values(payload: Mapping[str, Any]) -> dict[str, float | None]:
    """The recorded fields of a telemetry payload; load derived from the balance if absent.

    load = pv + grid import - battery charging, which is what the meter would say.
    """
    values = {name: _number(payload.get(name)) for name in FIELDS}
    pv, grid, battery = values["pv_w"], values["grid_w"], values["battery_w"]
    if values["load_w"] is None and None not in (pv, grid, battery):
        assert pv is not None and grid is not None and battery is not None
        values["load_w"] = max(0.0, pv + grid - battery)
    return values


def record_sample(db: sqlite3.Connection, timestamp: float, values: Mapping[str, Any]) -> bool:
    """Store one sample and refresh its slot's means; False if that timestamp was known."""
    try:
        return _record(db, timestamp, values)
    except sqlite3.OperationalError as exc:
        if "no such table" not in str(exc):
            raise
    ensure_schema(db)  # the first sample into a new database: every tick after skips this
    return _record(db, timestamp, values)


def _record(db: sqlite3.Connection, timestamp: float, values: Mapping[str, Any]) -> bool:
    row = [timestamp, *(values.get(name) for name in FIELDS)]
    with _transaction(db):
        cursor = db.execute(
            "INSERT OR IGNORE INTO telemetry_samples "
            "(timestamp, load_w, pv_w, battery_w, grid_w, soc) VALUES (?, ?, ?, ?, ?, ?)",
            row,
        )
        if cursor.rowcount != 1:
            return False
        start = slot_start(timestamp)
        db.execute(
            "INSERT OR REPLACE INTO history_30min (slot_start, load_w, pv_w, samples, source) "
            "SELECT ?, AVG(load_w), AVG(pv_w), COUNT(*), 'recorded' FROM telemetry_samples "
            "WHERE timestamp >= ? AND timestamp < ?",
            (start, start, start + SLOT_SECONDS),
        )
    return True


def seed_history(
    db: sqlite3.Connection,
    slot_start_epochs: Sequence[float],
    load_w: Sequence[float | None],
    pv_w: Sequence[float | None] | None = None,
) -> int:
    """Load known 30-minute history (a backtest scenario's) without overwriting recorded slots.

    Seeded rows carry ``samples = 0`` and ``source = 'seeded'``; returns how many were added.
    """
    if len(load_w) != len(slot_start_epochs) or (pv_w is not None and len(pv_w) != len(load_w)):
        raise ValueError("slot_start_epochs, load_w and pv_w must have the same length")
    ensure_schema(db)
    pvs: Sequence[float | None] = pv_w if pv_w is not None else [None] * len(load_w)
    rows = [
        (slot_start(t), _number(load), _number(pv))
        for t, load, pv in zip(slot_start_epochs, load_w, pvs, strict=True)
    ]
    with _transaction(db):
        before = db.total_changes
        db.executemany(
            "INSERT OR IGNORE INTO history_30min (slot_start, load_w, pv_w, samples, source) "
            "VALUES (?, ?, ?, 0, 'seeded')",
            rows,
        )
        return db.total_changes - before


def load_history(db: sqlite3.Connection, since: float, until: float) -> list[tuple[int, float]]:
    """(slot_start, mean load W) of every slot in [since, until) that has a load, oldest first."""
    ensure_schema(db)
    rows = db.execute(
        "SELECT slot_start, load_w FROM history_30min "
        "WHERE slot_start >= ? AND slot_start < ? AND load_w IS NOT NULL ORDER BY slot_start",
        (since, until),
    ).fetchall()
    return [(int(start), float(load)) for start, load in rows]
