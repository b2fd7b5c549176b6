"""Where the money went, day by day, as the API shows it (``GET /api/attribution``).

Each day ``planning.attribute`` worked out (``attribution_days``), with its actual
energy bill read from the ledger now (imports less exports, settlements in: a late
settlement counts), the optimum, both with the energy left in the battery valued, and
the gap between them split into ``PARTS``. Money in $, to four places (pages round).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from flowengine import local_iso
from flowengine.errors import FieldProblem, InvalidRequest
from nodes.history.query import EXPORTS, IMPORTS
from nodes.ledger.cycles import ledger_began
from nodes.ledger.entries import moment
from nodes.ledger.settings import BillingTerms
from nodes.ledger.spans import Coverage, coverage
from nodes.planning.attribution import PARTS, REPLAYS, Attribution

PARAMETERS = ("since", "until")
#: Days shown when the query does not say, and the most one request may cover.
DEFAULT_DAYS = 14
MAX_DAYS = 400


class NoAttribution(LookupError):
    """The site database keeps no days worked out (no ``planning.attribute`` runs on it)."""


@dataclass(frozen=True)
class DaysQuery:
    """The days whose start is in ``[since, until)`` (epochs)."""

    since: float
    until: float

    @classmethod
    def parse(cls, params: Mapping[str, str], tz: tzinfo, now: float) -> DaysQuery:
        """``since`` and ``until`` as ``/api/ledger`` takes them (ISO 8601, without an
        offset the site's wall time, or epoch seconds); by default the last 14 days."""
        problems = [
            FieldProblem(name, f"is not a parameter here (known: {', '.join(PARAMETERS)})")
            for name in params
            if name not in PARAMETERS
        ]
        since = moment(params, "since", tz, problems)
        until = moment(params, "until", tz, problems)
        until = now if until is None else until
        since = until - DEFAULT_DAYS * 86400 if since is None else since
        if until <= since:
            problems.append(FieldProblem("until", "must be after since"))
        elif until - since > MAX_DAYS * 86400:
            problems.append(FieldProblem("since", f"one request covers {MAX_DAYS} days at most"))
        if problems:
            raise InvalidRequest(problems)
        return cls(since, until)


def report(db: sqlite3.Connection, query: DaysQuery, terms: BillingTerms) -> dict[str, Any]:
    """The days of ``query``, newest first, and their totals (of the days with an actual
    bill); ``NoAttribution`` when the database keeps none."""
    if not _has_table(db, "attribution_days"):
        raise NoAttribution("no days worked out: the flows run no planning.attribute")
    zone = ZoneInfo(terms.timezone)
    days = day_views(db, query.since, query.until, terms)
    billed = [day for day in days if day.get("gap") is not None]
    totals = {
        "days": len(billed),
        "actual": _sum(day["actual"]["adjusted"] for day in billed),
        "optimum": _sum(day["optimum"]["adjusted"] for day in billed),
        "gap": _sum(day["gap"] for day in billed),
        "parts": {part: _sum(day["parts"][part] for day in billed) for part in PARTS},
    }
    return {
        "timezone": terms.timezone,
        "since": local_iso(query.since, zone),
        "until": local_iso(query.until, zone),
        "parts": list(PARTS),
        "totals": totals,
        "days": days,
    }


def day_views(
    db: sqlite3.Connection, since: float, until: float, terms: BillingTerms
) -> list[dict[str, Any]]:
    """The days worked out that start in ``[since, until)``, newest first, each with its
    actual bill from the ledger (null where the ledger has no entry in it): the bill and
    the optimum, stored energy valued, and the gap between them split into ``PARTS``."""
    zone = ZoneInfo(terms.timezone)
    rows = db.execute(
        "SELECT date, start, end, computed_at, figures FROM attribution_days "
        "WHERE start >= ? AND start < ? ORDER BY start DESC",
        (since, until),
    ).fetchall()
    ledger = _has_table(db, "ledger_events")
    began = ledger_began(db) if ledger else None
    out = []
    for day, start, end, computed_at, text in rows:
        figures = json.loads(text)
        view: dict[str, Any] = {
            "date": day,
            "start": local_iso(start, zone),
            "end": local_iso(end, zone),
            "computed_at": local_iso(computed_at, zone),
            "problem": figures.get("problem"),
        }
        if view["problem"] is None:
            bill = _bill(db, start, end, began) if ledger else None
            view.update(_split(Attribution.from_dict(figures), figures, bill))
        out.append(view)
    return out


def _split(
    attribution: Attribution, figures: Mapping[str, Any], bill: tuple[float, Coverage] | None
) -> dict[str, Any]:
    """A worked-out day against its actual ``bill`` (and how the ledger covers the day),
    if the ledger has one."""
    soc_end = float(figures["soc_end"])
    optimum = attribution.replays["hindsight"]
    actual = None if bill is None else bill[0]
    parts: dict[str, float | None] = dict.fromkeys(PARTS)
    gap = adjusted = None
    if actual is not None:
        parts.update(attribution.parts(actual, soc_end))
        adjusted = attribution.adjusted(actual, soc_end)
        gap = adjusted - attribution.optimum
    else:  # the forecasts' parts stand without a bill; execution needs one
        known = attribution.parts(0.0, soc_end)
        parts.update({part: known[part] for part in PARTS if part != "execution"})
    return {
        "actual": {
            "bill": _round(actual),
            "soc_start": attribution.soc_start,
            "soc_end": soc_end,
            "adjusted": _round(adjusted),
            # As the ledger tells them apart: time in a gap (energy no figure holds) and
            # time before it began (nothing recorded yet).
            "gap_hours": None if bill is None else round(bill[1].gap_s / 3600, 2),
            "before_ledger_hours": None if bill is None else round(bill[1].before_s / 3600, 2),
        },
        "optimum": {
            "bill": _round(optimum.bill),
            "soc_end": optimum.soc_end,
            "adjusted": _round(attribution.optimum),
        },
        "stored_value": attribution.stored_value,
        "gap": _round(gap),
        "parts": {part: _round(value) for part, value in parts.items()},
        "replays": {
            name: {
                **attribution.replays[name].as_dict(),
                "adjusted": _round(attribution.replay_adjusted(name)),
            }
            for name, _ in REPLAYS
        },
        "filled": figures.get("filled", {}),
        "solves": attribution.solves,
    }


def _bill(
    db: sqlite3.Connection, start: float, end: float, began: float | None
) -> tuple[float, Coverage] | None:
    """The energy bill of ``[start, end)`` in the ledger (imports less exports, with
    their settlements) and how the ledger covers it; None without an entry in it."""
    kinds = (*IMPORTS, *EXPORTS)
    paid, earned, count = db.execute(
        f"SELECT TOTAL(CASE WHEN kind IN ({_marks(IMPORTS)}) THEN amount END), "
        f"TOTAL(CASE WHEN kind IN ({_marks(EXPORTS)}) THEN amount END), COUNT(*) "
        f"FROM ledger_events WHERE at >= ? AND at < ? AND kind IN ({_marks(kinds)})",
        (*IMPORTS, *EXPORTS, start, end, *kinds),
    ).fetchone()
    if not count:
        return None
    return -float(paid) - float(earned), coverage(db, start, end, began)


def _sum(values: Iterable[float | None]) -> float:
    return round(sum(v for v in values if v is not None), 4)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _has_table(db: sqlite3.Connection, name: str) -> bool:
    found = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
    return found.fetchone() is not None


def _marks(names: Iterable[str]) -> str:
    return ",".join("?" * len(tuple(names)))


__all__ = ["DaysQuery", "NoAttribution", "day_views", "report"]
