"""The 30-minute and daily roll-ups, recomputed from the raw samples they summarise.

A slot's row is rebuilt whole from its samples (means, SOC, energies) whenever a
sample lands in or next to it, so replaying a sample changes nothing and the
figures stay exact whatever order the samples came in. A day's row is rebuilt
from its recorded slots (energies summed, means weighted by sample counts): a
slot belongs to the local date its start falls on, so in zones whose offset is
not a whole half hour (Nepal, Chatham) a day's edges are a quarter hour off.
Seeded slots (a backtest's history) carry no samples and stay out of the days.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import date
from zoneinfo import ZoneInfo

from nodes.history.counters import CounterReading, spread
from nodes.history.days import day_bounds, local_date
from nodes.history.schema import COUNTERS, SLOT_SECONDS

MEANS = ("load_w", "pv_w", "battery_w", "grid_w")
TOTALS = tuple(f"{name}_total_kwh" for name in COUNTERS)
ENERGIES = tuple(f"{name}_kwh" for name in COUNTERS)
SLOT_COLUMNS = (
    "slot_start",
    *MEANS,
    "soc_min",
    "soc_max",
    "soc_last",
    *ENERGIES,
    "metered_s",
    "samples",
    "source",
)
DAY_COLUMNS = (
    "date",
    "start",
    "end",
    *MEANS,
    "soc_min",
    "soc_max",
    "soc_last",
    *ENERGIES,
    "metered_s",
    "samples",
)

_SAMPLE = f"timestamp, {', '.join(MEANS)}, soc, {', '.join(TOTALS)}"
_NEIGHBOURS = (
    f"SELECT * FROM (SELECT {_SAMPLE} FROM telemetry_samples WHERE timestamp < ? "
    "ORDER BY timestamp DESC LIMIT 1) "
    f"UNION ALL SELECT {_SAMPLE} FROM telemetry_samples WHERE timestamp >= ? AND timestamp < ? "
    f"UNION ALL SELECT * FROM (SELECT {_SAMPLE} FROM telemetry_samples WHERE timestamp >= ? "
    "ORDER BY timestamp LIMIT 1)"
)


def _mean(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def refresh_slots(db: sqlite3.Connection, first: int, last: int, gap_after_s: float) -> None:
    """Rebuild the 30-minute rows of the slots starting ``first`` to ``last`` (inclusive)."""
    end = last + SLOT_SECONDS
    rows = db.execute(_NEIGHBOURS, (first, first, end, end)).fetchall()
    readings = [CounterReading(row[0], dict(zip(COUNTERS, row[6:], strict=True))) for row in rows]
    windows = [(float(s), float(s + SLOT_SECONDS)) for s in range(first, end, SLOT_SECONDS)]
    energies = spread(readings, windows, gap_after_s)
    for (lo, hi), energy in zip(windows, energies, strict=True):
        inside = [row for row in rows if lo <= row[0] < hi]
        if not inside:
            continue
        socs = [row[5] for row in inside if row[5] is not None]
        values = {
            "slot_start": int(lo),
            **{name: _mean(row[1 + i] for row in inside) for i, name in enumerate(MEANS)},
            "soc_min": min(socs, default=None),
            "soc_max": max(socs, default=None),
            "soc_last": socs[-1] if socs else None,
            **energy.as_columns(),
            "samples": len(inside),
            "source": "recorded",
        }
        db.execute(
            f"INSERT OR REPLACE INTO history_30min ({', '.join(SLOT_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(SLOT_COLUMNS))})",
            [values[name] for name in SLOT_COLUMNS],
        )


def _weighted(name: str) -> str:
    return f"SUM({name} * samples) / SUM(CASE WHEN {name} IS NOT NULL THEN samples END)"


_DAY = (
    f"SELECT {', '.join(_weighted(m) for m in MEANS)}, MIN(soc_min), MAX(soc_max), "
    f"{', '.join(f'SUM({e})' for e in ENERGIES)}, SUM(metered_s), SUM(samples) "
    "FROM history_30min WHERE slot_start >= ? AND slot_start < ? AND source = 'recorded'"
)


def refresh_days(db: sqlite3.Connection, days: Iterable[date], zone: ZoneInfo) -> None:
    """Rebuild the daily rows of ``days`` (local dates in ``zone``) from their slots."""
    for day in sorted(set(days)):
        start, end = day_bounds(day, zone)
        row = db.execute(_DAY, (start, end)).fetchone()
        if not row[-1]:
            continue
        last = db.execute(
            "SELECT soc_last FROM history_30min WHERE slot_start >= ? AND slot_start < ? "
            "AND source = 'recorded' AND soc_last IS NOT NULL ORDER BY slot_start DESC LIMIT 1",
            (start, end),
        ).fetchone()
        means, (soc_min, soc_max), rest = row[:4], row[4:6], row[6:]
        values = [
            day.isoformat(),
            start,
            end,
            *means,
            soc_min,
            soc_max,
            last[0] if last else None,
            *rest,
        ]
        db.execute(
            f"INSERT OR REPLACE INTO history_daily ({', '.join(DAY_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(DAY_COLUMNS))})",
            values,
        )


def slot_dates(first: int, last: int, zone: ZoneInfo) -> set[date]:
    """The local dates the slots ``first`` to ``last`` (inclusive) start on."""
    return {local_date(s, zone) for s in range(first, last + 1, SLOT_SECONDS)}


def rebuild_days(db: sqlite3.Connection, zone: ZoneInfo) -> int:
    """Daily rows for every date with recorded slots (after an upgrade); how many dates."""
    starts = db.execute(
        "SELECT DISTINCT slot_start FROM history_30min WHERE source = 'recorded'"
    ).fetchall()
    days = {local_date(start, zone) for (start,) in starts}
    refresh_days(db, days, zone)
    return len(days)
