"""A finished day as the site database recorded it, for "where the money went"
(``nodes.planning.attribution``), and the days worked out so far.

What happened: each half hour's mean PV and load (``history_30min``), the SOC the day
began and ended at, and each interval's price as last issued. What was believed at
each half hour's start: the prices, the PV forecast (P50) and the load the plan was
built on, each as the latest issue fetched by then (``price_issues``,
``forecast_issues``: docs/history.md), on the day's slots. Where a site used two
providers of one input, the one fetched last is the one in force. A half hour no
belief covered yet is taken as it happened, and counted (``filled``).

A day is worked out once it is over and kept in ``attribution_days``; its actual bill is
read from the ledger when it is shown (``nodes.planning.days``), so a later settlement
counts.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flowengine import transaction
from flowengine.migrations import Migration, migrate
from nodes.forecast.align import align_fields
from nodes.history.days import day_bounds, local_date
from nodes.planning.attribution import SERIES, Attribution, Day, Series

#: The history's slots: UTC-aligned half hours (``nodes.history.schema.SLOT_SECONDS``).
SLOT = 1800
#: A prices issue's columns, and the series each is.
PRICES = {"import_price": "import_price", "export_price": "export_price"}
COMPONENT = "attribution"
MIGRATIONS = (
    Migration(
        1,
        """
CREATE TABLE IF NOT EXISTS attribution_days (
    date TEXT PRIMARY KEY,
    start REAL NOT NULL,
    end REAL NOT NULL,
    computed_at REAL NOT NULL,
    figures TEXT NOT NULL
);
""",
        "each finished day's replays (nodes/planning/attribution.py)",
    ),
)


class Unattributable(ValueError):
    """Why a day cannot be replayed (its history has holes, no price was recorded...)."""


@dataclass(frozen=True)
class RecordedDay:
    """A day ready to replay, the SOC it really ended at, and how many half hours of
    each input no belief covered yet (taken as they happened)."""

    day: Day
    soc_end: float
    filled: dict[str, int]


def ensure_schema(db: sqlite3.Connection) -> None:
    migrate(db, COMPONENT, MIGRATIONS)


def has_history(db: sqlite3.Connection) -> bool:
    """Whether the database keeps the history a day is read from."""
    names = {"history_30min", "price_issues", "forecast_issues"}
    found = db.execute(
        f"SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ({_marks(names)})",
        tuple(names),
    ).fetchall()
    return len(found) == len(names)


def recorded_day(db: sqlite3.Connection, day: date, zone: ZoneInfo) -> RecordedDay:
    """``day`` (local) from the site database; ``Unattributable`` saying what is missing."""
    start, end = day_bounds(day, zone)
    n = (end - start) // SLOT
    slots = _slots(db, start, end)
    missing = [t for t in range(start, end, SLOT) if t not in slots]
    if missing:
        raise Unattributable(f"the history holds {n - len(missing)} of the day's {n} half hours")
    soc_start = _soc_start(db, start)
    soc_end = slots[end - SLOT][2]
    if soc_start is None or soc_end is None:
        raise Unattributable("no SOC was recorded at the day's start or end")
    times = [start + k * SLOT for k in range(n)]
    price_rows = _rows(db, "price_issues", ("import_price", "export_price"), start, end)
    final_prices = _final(price_rows, PRICES, start, n)
    if final_prices is None:
        raise Unattributable("not every half hour of the day has a recorded price")
    actual = Series.of(
        **final_prices,
        pv_w=[slots[t][0] for t in times],
        load_w=[slots[t][1] for t in times],
    )
    inputs = {  # each input: its issues, and which of their columns is which series
        "prices": (price_rows, PRICES),
        **{
            series: (
                _rows(db, "forecast_issues", ("value_w",), start, end, what),
                {"value_w": series},
            )
            for series, what in (("pv_w", "pv"), ("load_w", "load"))
        },
    }
    beliefs = {
        name: list(_beliefs(rows, times, columns, end)) for name, (rows, columns) in inputs.items()
    }
    filled = dict.fromkeys(inputs, 0)
    believed = []
    for k in range(n):
        told: dict[str, list[float]] = {}
        for name, (_, columns) in inputs.items():
            found = beliefs[name][k]
            if not found:  # nothing issued yet: as it happened
                filled[name] += 1
                found = {key: [getattr(actual, key)[k]] for key in columns.values()}
            told.update(found)
        m = min(len(v) for v in told.values())
        believed.append(Series.of(**{name: told[name][:m] for name in SERIES}))
    return RecordedDay(
        Day(float(start), float(SLOT), actual, tuple(believed), soc_start), soc_end, filled
    )


def _slots(
    db: sqlite3.Connection, start: int, end: int
) -> dict[int, tuple[float, float, float | None]]:
    """Each recorded half hour's mean PV and load (W) and its last SOC."""
    rows = db.execute(
        "SELECT slot_start, pv_w, load_w, soc_last FROM history_30min WHERE slot_start >= ? "
        "AND slot_start < ? AND source = 'recorded' AND pv_w IS NOT NULL AND load_w IS NOT NULL",
        (start, end),
    ).fetchall()
    return {
        int(t): (max(0.0, float(pv)), max(0.0, float(load)), None if soc is None else float(soc))
        for t, pv, load, soc in rows
    }


def _soc_start(db: sqlite3.Connection, start: int) -> float | None:
    """The SOC at the day's start: the last of the half hour before it, else the first
    sample of the day's first half hour."""
    row = db.execute(
        "SELECT soc_last FROM history_30min WHERE slot_start = ? AND soc_last IS NOT NULL",
        (start - SLOT,),
    ).fetchone()
    if row is None:
        row = db.execute(
            "SELECT soc FROM telemetry_samples WHERE timestamp >= ? AND timestamp < ? "
            "AND soc IS NOT NULL ORDER BY timestamp LIMIT 1",
            (start, start + SLOT),
        ).fetchone()
    return None if row is None else min(1.0, max(0.0, float(row[0])))


def _rows(
    db: sqlite3.Connection,
    table: str,
    values: Sequence[str],
    start: int,
    end: int,
    what: str | None = None,
) -> list[dict[str, Any]]:
    """Every issue of an interval overlapping ``[start, end)``, in the order they were
    fetched (``what``: pv or load, for forecast_issues)."""
    narrow = "" if what is None else " AND what = :what"
    cursor = db.execute(
        f"SELECT provider, start, end, issued_at, fetched_at, {', '.join(values)} FROM {table} "
        f"WHERE end > :start AND start < :end{narrow} ORDER BY fetched_at, issued_at",
        {"start": start, "end": end, "what": what},
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _beliefs(
    rows: Sequence[Mapping[str, Any]],
    times: Sequence[float],
    columns: Mapping[str, str],
    end: float,
) -> Iterable[dict[str, list[float]]]:
    """At each of ``times`` (slot starts), each of ``columns`` per slot from then to
    ``end`` as then believed, under its series' name: each interval's latest issue
    fetched by then, of the provider fetched last; as far as every column is known
    without a break (empty: nothing issued yet)."""
    latest: dict[tuple[str, float], Mapping[str, Any]] = {}
    newest_provider: str | None = None
    i = 0
    for t in times:
        while i < len(rows) and rows[i]["fetched_at"] <= t:
            row = rows[i]
            key = (row["provider"], float(row["start"]))
            known = latest.get(key)
            if known is None or row["issued_at"] >= known["issued_at"]:
                latest[key] = row
            newest_provider = row["provider"]
            i += 1
        intervals = [
            row
            for (provider, _), row in latest.items()
            if provider == newest_provider and row["end"] > t
        ]
        yield _known_run(intervals, columns, t, int((end - t) // SLOT))


def _final(
    rows: Sequence[Mapping[str, Any]], columns: Mapping[str, str], start: float, n: int
) -> dict[str, list[float]] | None:
    """``columns`` on the day's ``n`` slots as last issued (each interval's latest issue,
    of the provider fetched last); None unless every slot has them."""
    latest: dict[tuple[str, float], Mapping[str, Any]] = {}
    provider = None
    for row in rows:
        key = (row["provider"], float(row["start"]))
        known = latest.get(key)
        if known is None or row["issued_at"] >= known["issued_at"]:
            latest[key] = row
        provider = row["provider"]
    intervals = [row for (source, _), row in latest.items() if source == provider]
    found = _known_run(intervals, columns, start, n)
    return found if found and all(len(v) == n for v in found.values()) else None


def _known_run(
    intervals: Sequence[Mapping[str, Any]], columns: Mapping[str, str], start: float, n: int
) -> dict[str, list[float]]:
    """``columns`` on the ``n`` slots from ``start``, under their series' names, up to the
    first slot one of them is unknown in."""
    if n <= 0:
        return {}
    aligned = align_fields([dict(i) for i in intervals], list(columns), start, SLOT, n)
    m = 0
    while m < n and all(aligned[column][m] is not None for column in columns):
        m += 1
    return {
        name: [float(v) for v in aligned[column][:m] if v is not None]
        for column, name in columns.items()
        if m
    }


# -- the days worked out ----------------------------------------------------------------


def due_days(db: sqlite3.Connection, zone: ZoneInfo, now: float, days: int) -> list[date]:
    """The finished days of the last ``days`` with any recorded history and not worked
    out yet, oldest first. A day is finished once the clock is past it and the history
    holds its last half hour or a later one (a clock set ahead finishes no day early)."""
    today = local_date(now, zone)
    first = today - timedelta(days=days)
    since, _ = day_bounds(first, zone)
    until, _ = day_bounds(today, zone)
    rows = db.execute(
        "SELECT slot_start FROM history_30min WHERE slot_start >= ? AND source = 'recorded'",
        (since,),
    ).fetchall()
    newest = max((float(t) for (t,) in rows), default=-math.inf)
    recorded = {local_date(float(t), zone) for (t,) in rows if t < until}
    done = {
        date.fromisoformat(text)
        for (text,) in db.execute(
            "SELECT date FROM attribution_days WHERE start >= ? AND start < ?", (since, until)
        )
    }
    return sorted(day for day in recorded - done if day_bounds(day, zone)[1] - SLOT <= newest)


def store_day(
    db: sqlite3.Connection,
    day: date,
    zone: ZoneInfo,
    now: float,
    figures: Mapping[str, Any],
) -> None:
    """Keep a day's figures (a worked-out ``Attribution`` with the recorded SOC at its
    end and what was filled, or ``{"problem": ...}``)."""
    start, end = day_bounds(day, zone)
    with transaction(db):
        db.execute(
            "INSERT OR REPLACE INTO attribution_days VALUES (?, ?, ?, ?, ?)",
            (day.isoformat(), start, end, now, json.dumps(figures, allow_nan=False)),
        )


def figures_of(recorded: RecordedDay, attribution: Attribution) -> dict[str, Any]:
    """What is kept of a worked-out day."""
    return {
        **attribution.as_dict(),
        "soc_end": round(recorded.soc_end, 4),
        "filled": recorded.filled,
    }


def _marks(names: Iterable[str]) -> str:
    return ",".join("?" * len(tuple(names)))


__all__ = [
    "MIGRATIONS",
    "RecordedDay",
    "Unattributable",
    "due_days",
    "ensure_schema",
    "figures_of",
    "has_history",
    "recorded_day",
    "store_day",
]
