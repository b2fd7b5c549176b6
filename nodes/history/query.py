"""The site's history as the API reads it (``GET /api/history``, the overview's chart).

``HistoryQuery.parse`` takes the query string (``resolution``, ``since``, ``until``,
``fields``) and refuses a bad one with every problem named by its parameter.
``history_rows`` answers it from the roll-ups (``history_30min``, ``history_daily``;
weeks are their days added up, Monday to Sunday in the site's time zone), with the
ledger's cash per row (``import_cost`` and ``export_revenue`` entries and their
settlements) and the prices in force (each interval's last issue, weighted by the
time it overlaps the row). ``recent_telemetry`` gives the raw samples of a span,
thinned to a few hundred points for a chart. Everything here only reads.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flowengine import local_iso
from flowengine.errors import FieldProblem, InvalidRequest
from nodes.history.days import day_bounds
from nodes.history.issues import prices_believed_at
from nodes.history.rollup import ENERGIES, MEANS
from nodes.history.schema import SLOT_SECONDS
from nodes.ledger.entries import moment

DAY = 86400.0
PARAMETERS = ("resolution", "since", "until", "fields")
#: The longest span one request may cover, and the span when ``since`` is not given.
MAX_SPAN = {"30min": 31 * DAY, "day": 731 * DAY, "week": 731 * DAY}
DEFAULT_SPAN = {"30min": 2 * DAY, "day": 60 * DAY, "week": 364 * DAY}
SOC = ("soc_min", "soc_max", "soc_last")
MONEY = ("import_cost", "export_revenue", "net_cost")
PRICES = ("import_price", "export_price")
COVERAGE = ("metered_s", "samples")
#: Every field a row can carry, and its unit.
UNITS: dict[str, str] = {
    **dict.fromkeys(ENERGIES, "kWh"),
    **dict.fromkeys(MEANS, "W"),
    **dict.fromkeys(SOC, "fraction"),
    **dict.fromkeys(MONEY, "$"),
    **dict.fromkeys(PRICES, "$/kWh"),
    "metered_s": "s",
    "samples": "count",
}
FIELDS = tuple(UNITS)
ROLLUP = (*MEANS, *SOC, *ENERGIES, *COVERAGE)
IMPORTS = ("import_cost", "import_settlement")
EXPORTS = ("export_revenue", "export_settlement")
#: Points a chart is given for a span of raw telemetry (samples further apart stay as they are).
CHART_POINTS = 720


class NoHistory(LookupError):
    """The site database keeps no history (no ``history.record`` has run on it)."""


@dataclass(frozen=True)
class HistoryQuery:
    """Rows of ``resolution`` overlapping ``[since, until)``, with ``fields``."""

    resolution: str
    since: float
    until: float
    fields: tuple[str, ...] = FIELDS

    @classmethod
    def parse(cls, params: Mapping[str, str], tz: ZoneInfo, now: float) -> HistoryQuery:
        problems = [
            FieldProblem(name, f"is not a parameter here (known: {', '.join(PARAMETERS)})")
            for name in params
            if name not in PARAMETERS
        ]
        resolution = params.get("resolution", "").strip() or "30min"
        if resolution not in MAX_SPAN:
            problems.append(FieldProblem("resolution", f"must be one of {', '.join(MAX_SPAN)}"))
            resolution = "30min"
        since = moment(params, "since", tz, problems)
        until = moment(params, "until", tz, problems)
        wanted = tuple(f.strip() for f in params.get("fields", "").split(",") if f.strip())
        problems += [
            FieldProblem("fields", f"{name!r} is not a field (known: {', '.join(FIELDS)})")
            for name in wanted
            if name not in UNITS
        ]
        until = now if until is None else until
        since = until - DEFAULT_SPAN[resolution] if since is None else since
        if until <= since:
            problems.append(FieldProblem("until", "must be after since"))
        elif until - since > MAX_SPAN[resolution]:
            days = round(MAX_SPAN[resolution] / DAY)
            problems.append(
                FieldProblem(
                    "since",
                    f"is too long before until: at most {days} days of "
                    f"{resolution} rows in one request",
                )
            )
        if problems:
            raise InvalidRequest(problems)
        return cls(resolution, since, until, tuple(dict.fromkeys(wanted)) or FIELDS)


def has_history(db: sqlite3.Connection) -> bool:
    found = db.execute(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN "
        "('telemetry_samples', 'history_30min', 'history_daily')"
    ).fetchone()
    return bool(found and found[0] == 3)


def history_rows(
    db: sqlite3.Connection, query: HistoryQuery, tz: ZoneInfo, now: float
) -> dict[str, Any]:
    """The rows a query asks for, oldest first; ``NoHistory`` when none is kept."""
    if not has_history(db):
        raise NoHistory("no history in the site database: the flows record no telemetry")
    if query.resolution == "30min":
        rows = _slots(db, query.since, query.until)
    else:
        rows = _days(db, query.since, query.until)
        if query.resolution == "week":
            rows = _weeks(rows, tz)
    wanted = set(query.fields)
    ledger = _has_ledger(db)
    if ledger and wanted & set(MONEY):
        _add_money(db, rows)
    if wanted & set(PRICES):
        _add_prices(db, rows, now)
    keys = [k for k in ("date", "week") if rows and k in rows[0]]
    return {
        "resolution": query.resolution,
        "timezone": tz.key,
        "since": local_iso(query.since, tz),
        "until": local_iso(query.until, tz),
        "fields": list(query.fields),
        "units": {name: UNITS[name] for name in query.fields},
        "ledger": ledger,
        "rows": [
            {
                "start": local_iso(row["start"], tz),
                "end": local_iso(row["end"], tz),
                **{k: row[k] for k in keys},
                **{name: row.get(name) for name in query.fields},
            }
            for row in rows
        ],
    }


def recent_telemetry(
    db: sqlite3.Connection, since: float, until: float, points: int = CHART_POINTS
) -> list[dict[str, Any]]:
    """Samples in ``[since, until]``, oldest first; where more than ``points`` would
    fall in the span, the samples in each ``(until - since) / points`` are averaged."""
    if not has_history(db):
        raise NoHistory("no history in the site database: the flows record no telemetry")
    step = max(1.0, (until - since) / points)
    cursor = db.execute(
        "SELECT MAX(timestamp), AVG(soc), AVG(pv_w), AVG(load_w), AVG(battery_w), AVG(grid_w) "
        "FROM telemetry_samples WHERE timestamp >= ? AND timestamp <= ? "
        "GROUP BY CAST((timestamp - ?) / ? AS INTEGER) ORDER BY 1",
        (since, until, since, step),
    )
    names = ("at", "soc", "pv_w", "load_w", "battery_w", "grid_w")
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def prices_paid(
    db: sqlite3.Connection, since: float, until: float, at: float
) -> list[dict[str, Any]]:
    """Each price interval overlapping ``[since, until)`` as last issued by ``at``."""
    if not _has_table(db, "price_issues"):
        return []
    return [
        {k: p[k] for k in ("start", "end", "import_price", "export_price", "spike")}
        for p in prices_believed_at(db, at, since - DAY, until)
        if p["end"] > since
    ]


# -- rows ------------------------------------------------------------------------------


def _slots(db: sqlite3.Connection, since: float, until: float) -> list[dict[str, Any]]:
    cursor = db.execute(
        f"SELECT slot_start, {', '.join(ROLLUP)} FROM history_30min "
        "WHERE source = 'recorded' AND slot_start > ? AND slot_start < ? ORDER BY slot_start",
        (since - SLOT_SECONDS, until),
    )
    return [
        {
            "start": float(row[0]),
            "end": float(row[0] + SLOT_SECONDS),
            **dict(zip(ROLLUP, row[1:], strict=True)),
        }
        for row in cursor.fetchall()
    ]


def _days(db: sqlite3.Connection, since: float, until: float) -> list[dict[str, Any]]:
    cursor = db.execute(
        f"SELECT date, start, end, {', '.join(ROLLUP)} FROM history_daily "
        "WHERE end > ? AND start < ? ORDER BY start",
        (since, until),
    )
    return [
        {
            "date": row[0],
            "start": float(row[1]),
            "end": float(row[2]),
            **dict(zip(ROLLUP, row[3:], strict=True)),
        }
        for row in cursor.fetchall()
    ]


def _weeks(days: Sequence[dict[str, Any]], tz: ZoneInfo) -> list[dict[str, Any]]:
    """Days added up into weeks from Monday: energies and coverage summed, means weighted
    by samples, the lowest and highest SOC and the last."""
    weeks: dict[date, list[dict[str, Any]]] = {}
    for day in days:
        on = date.fromisoformat(day["date"])
        weeks.setdefault(on - timedelta(days=on.weekday()), []).append(day)
    out = []
    for monday, inside in weeks.items():
        year, number, _ = monday.isocalendar()
        row: dict[str, Any] = {
            "week": f"{year}-W{number:02d}",
            "start": float(day_bounds(monday, tz)[0]),
            "end": float(day_bounds(monday + timedelta(days=6), tz)[1]),
            "samples": sum(d["samples"] or 0 for d in inside),
            "metered_s": sum(d["metered_s"] or 0 for d in inside),
            "soc_min": _extreme(min, (d["soc_min"] for d in inside)),
            "soc_max": _extreme(max, (d["soc_max"] for d in inside)),
            "soc_last": next(
                (d["soc_last"] for d in reversed(inside) if d["soc_last"] is not None), None
            ),
        }
        for name in ENERGIES:
            known = [d[name] for d in inside if d[name] is not None]
            row[name] = sum(known) if known else None
        for name in MEANS:
            weighted = [(d[name], d["samples"]) for d in inside if d[name] is not None]
            count = sum(n for _, n in weighted)
            row[name] = sum(v * n for v, n in weighted) / count if count else None
        out.append(row)
    return out


def _extreme(pick: Any, values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return float(pick(known)) if known else None


# -- money and prices --------------------------------------------------------------------


def _has_table(db: sqlite3.Connection, name: str) -> bool:
    return (
        db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
        ).fetchone()
        is not None
    )


def _has_ledger(db: sqlite3.Connection) -> bool:
    return _has_table(db, "ledger_events")


def _add_money(db: sqlite3.Connection, rows: list[dict[str, Any]]) -> None:
    """The ledger's cash per row: a 5-minute entry is dated at its interval's start and a
    settlement at its slot's, so each falls in the slot (and the local day) it flowed in."""
    for row in rows:
        row.update(dict.fromkeys(MONEY))
    if not rows:
        return
    kinds = (*IMPORTS, *EXPORTS)
    cursor = db.execute(
        "SELECT CAST(at / ? AS INTEGER) * ?, "
        f"-TOTAL(CASE WHEN kind IN ({_marks(IMPORTS)}) THEN amount END), "
        f"TOTAL(CASE WHEN kind IN ({_marks(EXPORTS)}) THEN amount END) "
        f"FROM ledger_events WHERE at >= ? AND at < ? AND kind IN ({_marks(kinds)}) "
        "GROUP BY 1 ORDER BY 1",
        (SLOT_SECONDS, SLOT_SECONDS, *IMPORTS, *EXPORTS, rows[0]["start"], rows[-1]["end"], *kinds),
    )
    starts = [row["start"] for row in rows]
    for slot, spent, earned in cursor.fetchall():
        row = rows[_row_of(starts, float(slot))]
        if not row["start"] <= slot < row["end"]:
            continue
        row["import_cost"] = (row["import_cost"] or 0.0) + spent
        row["export_revenue"] = (row["export_revenue"] or 0.0) + earned
        row["net_cost"] = row["import_cost"] - row["export_revenue"]


def _marks(names: Sequence[str]) -> str:
    return ", ".join("?" * len(names))


def _row_of(starts: list[float], at: float) -> int:
    """The index of the row holding ``at`` (or the one before it; rows are ordered)."""
    lo, hi = 0, len(starts)
    while lo < hi:
        mid = (lo + hi) // 2
        if starts[mid] <= at:
            lo = mid + 1
        else:
            hi = mid
    return max(0, lo - 1)


def _add_prices(db: sqlite3.Connection, rows: list[dict[str, Any]], now: float) -> None:
    """Each row's import and export price: the mean of the intervals in force over it
    until ``now``, weighted by how long each overlaps it (None where none is known)."""
    for row in rows:
        row.update(dict.fromkeys(PRICES))
    if not rows:
        return
    intervals = prices_paid(db, rows[0]["start"], rows[-1]["end"], now)
    first = 0
    for row in rows:
        while first < len(intervals) and intervals[first]["end"] <= row["start"]:
            first += 1
        sums = {name: [0.0, 0.0] for name in PRICES}
        for interval in intervals[first:]:
            if interval["start"] >= row["end"]:
                break
            overlap = min(interval["end"], row["end"], now) - max(interval["start"], row["start"])
            for name in PRICES:
                value = interval[name]
                if overlap > 0 and value is not None and math.isfinite(value):
                    sums[name][0] += value * overlap
                    sums[name][1] += overlap
        for name, (total, seconds) in sums.items():
            row[name] = total / seconds if seconds else None
