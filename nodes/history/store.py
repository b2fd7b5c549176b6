"""Reading and writing the site's own history: raw samples and their roll-ups.

Each new sample refreshes the 30-minute rows next to it and the local days
those fall on (``nodes/history/rollup.py``), so a replayed sample (same
timestamp) changes nothing. A sample from before the raw samples were last
pruned is refused: its slot's other samples are gone, and rebuilding the slot
from what is left would spoil a figure that was right.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from flowengine import transaction
from nodes.history.rollup import TOTALS, refresh_days, refresh_slots, slot_dates
from nodes.history.schema import COUNTERS, SLOT_SECONDS, ensure_schema, slot_start

FIELDS = ("load_w", "pv_w", "battery_w", "grid_w", "soc")
#: Samples further apart than this leave the energy between them out of the roll-ups.
DEFAULT_GAP_AFTER_S = 900.0
UTC_ZONE = ZoneInfo("UTC")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


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


def record_sample(
    db: sqlite3.Connection,
    timestamp: float,
    values: Mapping[str, Any],
    counters: Mapping[str, float] | None = None,
    *,
    zone: ZoneInfo = UTC_ZONE,
    gap_after_s: float = DEFAULT_GAP_AFTER_S,
) -> bool:
    """Store one sample and refresh its roll-ups; False if that timestamp was known
    (or is older than the raw samples kept).

    ``counters`` are the telemetry's cumulative ``energy_kwh`` (see ``counter_values``);
    ``zone`` is the site's, whose local dates key the daily rows.
    """
    try:
        return _record(db, timestamp, values, counters or {}, zone, gap_after_s)
    except sqlite3.OperationalError as exc:
        if "no such table" not in str(exc):
            raise
    ensure_schema(db)  # the first sample into a new database: every tick after skips this
    return _record(db, timestamp, values, counters or {}, zone, gap_after_s)


def _record(
    db: sqlite3.Connection,
    timestamp: float,
    values: Mapping[str, Any],
    counters: Mapping[str, float],
    zone: ZoneInfo,
    gap_after_s: float,
) -> bool:
    row = [
        timestamp,
        *(values.get(name) for name in FIELDS),
        *(counters.get(name) for name in COUNTERS),
    ]
    with transaction(db):
        pruned = db.execute(
            "SELECT before FROM history_pruned WHERE table_name = 'telemetry_samples'"
        ).fetchone()
        if pruned is not None and timestamp < pruned[0] + SLOT_SECONDS:
            return False
        cursor = db.execute(
            f"INSERT OR IGNORE INTO telemetry_samples (timestamp, {', '.join(FIELDS)}, "
            f"{', '.join(TOTALS)}) VALUES ({', '.join('?' * len(row))})",
            row,
        )
        if cursor.rowcount != 1:
            return False
        before, after = db.execute(
            "SELECT (SELECT MAX(timestamp) FROM telemetry_samples WHERE timestamp < :t), "
            "(SELECT MIN(timestamp) FROM telemetry_samples WHERE timestamp > :t)",
            {"t": timestamp},
        ).fetchone()
        first = slot_start(
            before if before is not None and timestamp - before <= gap_after_s else timestamp
        )
        last = slot_start(
            after if after is not None and after - timestamp <= gap_after_s else timestamp
        )
        refresh_slots(db, first, last, gap_after_s)
        refresh_days(db, slot_dates(first, last, zone), zone)
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
    with transaction(db):
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
