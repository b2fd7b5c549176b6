"""The overview's chart: the last hours as they happened, the plan's hours ahead.

``ChartQuery.parse`` reads ``GET /api/overview/chart?hours=&ahead=``; ``plan_ahead``
cuts the plan in force to the slots still to come; ``chart`` puts them beside
the telemetry and the prices paid (``nodes/history/query.py``). Times are
ISO 8601 in the site's time zone.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flowengine import local_iso
from flowengine.errors import FieldProblem, InvalidRequest
from nodes.history.query import prices_paid, recent_telemetry

PARAMETERS = ("hours", "ahead")
MAX_HOURS = 168.0
MAX_AHEAD = 48.0
SLOT_SECONDS = 1800.0


@dataclass(frozen=True)
class ChartQuery:
    """``hours`` back from now (1-168) and ``ahead`` of it (0-48) of the plan."""

    hours: float = 24.0
    ahead: float = 24.0

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> ChartQuery:
        problems = [
            FieldProblem(name, f"is not a parameter here (known: {', '.join(PARAMETERS)})")
            for name in params
            if name not in PARAMETERS
        ]
        hours = _hours(params, "hours", cls.hours, 1.0, MAX_HOURS, problems)
        ahead = _hours(params, "ahead", cls.ahead, 0.0, MAX_AHEAD, problems)
        if problems:
            raise InvalidRequest(problems)
        return cls(hours, ahead)


def _hours(
    params: Mapping[str, str],
    name: str,
    default: float,
    low: float,
    high: float,
    problems: list[FieldProblem],
) -> float:
    text = params.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:  # NaN fails too
        problems.append(FieldProblem(name, f"must be a number of hours from {low:g} to {high:g}"))
        return default
    return value


def plan_ahead(plan: Mapping[str, Any] | None, now: float, until: float) -> list[dict[str, Any]]:
    """The plan's slots that end after ``now`` and start before ``until``, each with
    its end (the next slot's start) and its net grid power (+ importing)."""
    slots = list((plan or {}).get("slots") or [])
    starts = [datetime.fromisoformat(str(s["start"])).timestamp() for s in slots]
    step = starts[1] - starts[0] if len(starts) > 1 else SLOT_SECONDS
    ends = [*starts[1:], starts[-1] + step] if starts else []
    return [
        {
            "start": start,
            "end": end,
            "mode": slot.get("mode"),
            "soc": slot.get("soc_end"),
            "pv_w": slot.get("pv_w"),
            "load_w": slot.get("load_w"),
            "battery_w": slot.get("battery_w"),
            "grid_w": _net(slot.get("grid_import_w"), slot.get("grid_export_w")),
            "import_price": slot.get("import_price"),
            "export_price": slot.get("export_price"),
            "reason": slot.get("reason"),
        }
        for start, end, slot in zip(starts, ends, slots, strict=True)
        if end > now and start < until
    ]


def _net(imported: Any, exported: Any) -> float | None:
    if not isinstance(imported, int | float) or not isinstance(exported, int | float):
        return None
    return float(imported) - float(exported)


def chart(
    db: sqlite3.Connection,
    query: ChartQuery,
    plan: Mapping[str, Any] | None,
    now: float,
    tz: ZoneInfo,
) -> dict[str, Any]:
    """The chart's data: ``actual`` samples and the ``prices`` paid over the last
    ``hours``, and the ``plan``'s slots over the next ``ahead``."""
    since, until = now - query.hours * 3600, now + query.ahead * 3600

    def iso(epoch: float) -> str:
        return local_iso(epoch, tz)

    ahead = plan_ahead(plan, now, until) if query.ahead > 0 else []
    return {
        "timezone": tz.key,
        "now": iso(now),
        "since": iso(since),
        "until": iso(until),
        "actual": [{**row, "at": iso(row["at"])} for row in recent_telemetry(db, since, now)],
        "prices": [
            {**p, "start": iso(p["start"]), "end": iso(p["end"])}
            for p in prices_paid(db, since, now, now)
        ],
        "plan": {
            "created_at": (plan or {}).get("created_at"),
            "slots": [{**s, "start": iso(s["start"]), "end": iso(s["end"])} for s in ahead],
        },
    }
