"""Prices and forecasts as they were issued, so we can ask what we believed at any time.

Design: a row is one interval *as one issue saw it*, keyed by (provider,
interval start, issue time), but only issues that **changed** the interval are
stored. Amber is asked every five minutes and stamps each answer with the fetch
time, so most issues repeat the last one word for word; storing each would add
a copy of 48 hours of intervals every five minutes to an SD card. Storing
changes only loses nothing: the belief at time X about an interval is the row
with the latest issue among those fetched by X, and an unchanged re-issue
would have said the same as that row. A repeat of the very same issue (same
issue time, same interval) is the same row and is ignored.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from flowengine import transaction

#: Columns after the key, per table; ``end`` first (it is what pruning looks at).
PRICE_VALUES = ("end", "import_price", "export_price", "type", "spike")
FORECAST_VALUES = ("end", "value_w", "p10_w", "p90_w")
FORECASTS = ("pv", "load")


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _stamps(reading: Mapping[str, Any], what: str) -> tuple[str, float, float]:
    """A reading's provider, issue time and fetch time, or why it is not a reading."""
    try:
        return str(reading["provider"]), float(reading["issued_at"]), float(reading["fetched_at"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(
            f"{what}: a reading needs provider, issued_at and fetched_at (missing or bad: {exc})"
        ) from None


def price_rows(reading: Mapping[str, Any]) -> list[tuple[float, tuple[Any, ...]]]:
    """(start, values) per interval of a prices reading (``docs/inputs.md`` shapes)."""
    intervals = (reading.get("data") or {}).get("intervals")
    if not isinstance(intervals, list):
        raise ValueError("history.record_prices: the reading has no data.intervals list")
    return [
        (
            float(i["start"]),
            (
                float(i["end"]),
                _float(i.get("import_price")),
                _float(i.get("export_price")),
                _text(i.get("type")),
                _text(i.get("spike")),
            ),
        )
        for i in intervals
    ]


def pv_rows(reading: Mapping[str, Any]) -> list[tuple[float, tuple[Any, ...]]]:
    """(start, values) per period of a PV reading: P50 as the value, with P10 and P90."""
    periods = (reading.get("data") or {}).get("periods")
    if not isinstance(periods, list):
        raise ValueError("history.record_forecast: the PV reading has no data.periods list")
    return [
        (
            float(p["start"]),
            (
                float(p["end"]),
                _float(p.get("p50_w")),
                _float(p.get("p10_w")),
                _float(p.get("p90_w")),
            ),
        )
        for p in periods
    ]


def plan_load(plan: Mapping[str, Any]) -> tuple[str, float, list[tuple[float, tuple[Any, ...]]]]:
    """The load a plan was built on: (source, issue time, rows); its slots' ends are the
    next slot's start (the last one as long as the one before it, or 30 minutes)."""
    try:
        issued = datetime.fromisoformat(str(plan["created_at"])).timestamp()
        slots = list(plan["slots"])
        starts = [datetime.fromisoformat(str(s["start"])).timestamp() for s in slots]
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(
            f"history.record_forecast: not a plan (created_at, slots): {exc}"
        ) from None
    step = starts[1] - starts[0] if len(starts) > 1 else 1800.0
    ends = [*starts[1:], starts[-1] + step] if starts else []
    source = str((plan.get("built_from") or {}).get("load_source") or "given")
    rows = [
        (start, (end, _float(slot.get("load_w")), None, None))
        for start, end, slot in zip(starts, ends, slots, strict=True)
    ]
    return source, issued, rows


def record_prices(db: sqlite3.Connection, reading: Mapping[str, Any]) -> int:
    """Store the intervals a prices reading changed; how many rows were added."""
    provider, issued, fetched = _stamps(reading, "history.record_prices")
    return _record_changes(
        db,
        "price_issues",
        PRICE_VALUES,
        {"provider": provider},
        issued,
        fetched,
        price_rows(reading),
    )


def record_forecast(
    db: sqlite3.Connection,
    what: str,
    provider: str,
    issued: float,
    fetched: float,
    rows: Sequence[tuple[float, tuple[Any, ...]]],
) -> int:
    """Store the periods a forecast issue (``what``: pv or load) changed; rows added."""
    if what not in FORECASTS:
        raise ValueError(f"history.record_forecast: what must be one of {FORECASTS}, not {what!r}")
    keys = {"what": what, "provider": provider}
    return _record_changes(db, "forecast_issues", FORECAST_VALUES, keys, issued, fetched, rows)


def _record_changes(
    db: sqlite3.Connection,
    table: str,
    value_columns: Sequence[str],
    keys: Mapping[str, str],
    issued: float,
    fetched: float,
    rows: Sequence[tuple[float, tuple[Any, ...]]],
) -> int:
    if not rows:
        return 0
    where = " AND ".join(f"{k} = :{k}" for k in keys)
    known = {
        row[0]: tuple(row[1:])
        for row in db.execute(
            f"SELECT start, {', '.join(value_columns)} FROM {table} AS p WHERE {where} "
            "AND start >= :lo AND start <= :hi AND issued_at = (SELECT MAX(issued_at) "
            f"FROM {table} WHERE {' AND '.join(f'{k} = p.{k}' for k in keys)} "
            "AND start = p.start AND issued_at <= :issued)",
            {
                **keys,
                "lo": min(r[0] for r in rows),
                "hi": max(r[0] for r in rows),
                "issued": issued,
            },
        )
    }
    changed = [
        (*keys.values(), start, issued, fetched, *values)
        for start, values in rows
        if known.get(start) != values
    ]
    columns = (*keys, "start", "issued_at", "fetched_at", *value_columns)
    before = db.total_changes
    with transaction(db):
        db.executemany(
            f"INSERT OR IGNORE INTO {table} ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' * len(columns))})",
            changed,
        )
    return db.total_changes - before


def believed_at(
    db: sqlite3.Connection,
    table: str,
    at: float,
    since: float = float("-inf"),
    until: float = float("inf"),
    **keys: str,
) -> list[dict[str, Any]]:
    """Each interval in ``[since, until)`` as we believed it at ``at``: per (key, start),
    the latest issue fetched by then. ``table`` is price_issues or forecast_issues;
    ``keys`` narrow it (``provider="amber"``, ``what="pv"``)."""
    if table not in ("price_issues", "forecast_issues"):
        raise ValueError(f"believed_at: no issues table {table!r}")
    group = ("provider",) if table == "price_issues" else ("what", "provider")
    narrow = "".join(f" AND {k} = :{k}" for k in keys)
    cursor = db.execute(
        f"SELECT * FROM {table} AS p WHERE fetched_at <= :at AND start >= :since "
        f"AND start < :until{narrow} AND issued_at = (SELECT MAX(issued_at) FROM {table} "
        f"WHERE {' AND '.join(f'{k} = p.{k}' for k in group)} AND start = p.start "
        "AND fetched_at <= :at) ORDER BY start",
        {"at": at, "since": since, "until": until, **keys},
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def prices_believed_at(
    db: sqlite3.Connection, at: float, since: float = float("-inf"), until: float = float("inf")
) -> list[dict[str, Any]]:
    """The price of each interval as we believed it at ``at`` (every provider)."""
    return believed_at(db, "price_issues", at, since, until)


def forecast_believed_at(
    db: sqlite3.Connection,
    what: str,
    at: float,
    since: float = float("-inf"),
    until: float = float("inf"),
) -> list[dict[str, Any]]:
    """The ``what`` (pv or load) forecast of each period as we believed it at ``at``."""
    return believed_at(db, "forecast_issues", at, since, until, what=what)
