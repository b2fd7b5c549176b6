"""The ledger's entries and gaps as the API lists them: newest first, a bounded page.

``EntryQuery.parse`` takes the query string of ``GET /api/ledger`` (``since``,
``until``, ``kind``, ``limit``) and refuses a bad one with every problem named by
its parameter (``flowengine.errors.InvalidRequest``). Times are ISO 8601 (without
an offset: the site's wall time; a date alone: its local midnight) or epoch
seconds. Entries are shown as they were posted, amounts unrounded.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from flowengine.errors import FieldProblem, InvalidRequest
from nodes.ledger.billing import BASELINE_TOTALS, KIND_TOTALS
from nodes.ledger.events import KINDS as INTERVAL_KINDS

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
PARAMETERS = ("since", "until", "kind", "limit")
#: The times a query may name, in epoch seconds: 1970 up to (not including) 3000.
EARLIEST, LATEST = 0.0, 32_503_680_000.0
#: Every kind of entry the ledger posts.
KINDS = tuple(dict.fromkeys((*INTERVAL_KINDS, *BASELINE_TOTALS, *KIND_TOTALS)))


@dataclass(frozen=True)
class EntryQuery:
    """Entries with ``since <= at < until`` of ``kinds`` (all when empty), newest first."""

    since: float | None = None
    until: float | None = None
    kinds: tuple[str, ...] = ()
    limit: int = DEFAULT_LIMIT

    @classmethod
    def parse(cls, params: Mapping[str, str], tz: tzinfo) -> EntryQuery:
        problems = [
            FieldProblem(name, f"is not a parameter here (known: {', '.join(PARAMETERS)})")
            for name in params
            if name not in PARAMETERS
        ]
        since = moment(params, "since", tz, problems)
        until = moment(params, "until", tz, problems)
        if since is not None and until is not None and until <= since:
            problems.append(FieldProblem("until", "must be after since"))
        kinds = tuple(k.strip() for k in params.get("kind", "").split(",") if k.strip())
        problems += [
            FieldProblem("kind", f"{kind!r} is not a kind of entry (known: {', '.join(KINDS)})")
            for kind in kinds
            if kind not in KINDS
        ]
        limit = _limit(params, problems)
        if problems:
            raise InvalidRequest(problems)
        return cls(since, until, kinds, limit)


def moment(
    params: Mapping[str, str], name: str, tz: tzinfo, problems: list[FieldProblem]
) -> float | None:
    """The time in parameter ``name`` as epoch seconds (None when absent), or a problem
    naming it: ISO 8601 (without an offset, wall time in ``tz``) or epoch seconds,
    from 1970 to 2999 (past those no date can be shown, and there is no data)."""
    text = params.get(name, "").strip()
    if not text:
        return None
    try:
        epoch = float(text)
    except ValueError:
        epoch = math.nan
    if not math.isfinite(epoch):
        try:
            moment = datetime.fromisoformat(text)
            epoch = (moment if moment.tzinfo else moment.replace(tzinfo=tz)).timestamp()
        except (ValueError, OverflowError):
            problems.append(
                FieldProblem(
                    name,
                    f"{text[:40]!r} is not a time: give ISO 8601 (2026-04-05T06:30+10:00; "
                    "without an offset, the site's time) or epoch seconds",
                )
            )
            return None
    if not EARLIEST <= epoch < LATEST:
        problems.append(FieldProblem(name, f"{text[:40]!r} is not a time from 1970 to 2999"))
        return None
    return epoch


def _limit(params: Mapping[str, str], problems: list[FieldProblem]) -> int:
    text = params.get("limit", "").strip()
    if not text:
        return DEFAULT_LIMIT
    if not (text.isascii() and text.isdigit()) or len(text) > 9 or not 1 <= int(text) <= MAX_LIMIT:
        problems.append(FieldProblem("limit", f"must be a whole number from 1 to {MAX_LIMIT}"))
        return DEFAULT_LIMIT
    return int(text)


def entries(db: sqlite3.Connection, query: EntryQuery, tz: tzinfo) -> dict[str, Any]:
    """A page of entries, newest first (``more``: older ones matched too), and the
    gaps overlapping the span asked for, newest first."""
    where: list[str] = ["1 = 1"]
    args: list[float | str] = []
    if query.since is not None:
        where.append("at >= ?")
        args.append(query.since)
    if query.until is not None:
        where.append("at < ?")
        args.append(query.until)
    if query.kinds:
        where.append(f"kind IN ({','.join('?' * len(query.kinds))})")
        args += query.kinds
    rows = db.execute(
        "SELECT key, at, kind, kwh, price, amount, detail FROM ledger_events "
        f"WHERE {' AND '.join(where)} ORDER BY at DESC, id DESC LIMIT ?",
        (*args, query.limit + 1),
    ).fetchall()
    gap_rows = db.execute(
        "SELECT start, end, reason, energy FROM ledger_gaps WHERE end > ? AND start < ? "
        "ORDER BY start DESC LIMIT ?",
        (
            -math.inf if query.since is None else query.since,
            math.inf if query.until is None else query.until,
            query.limit,
        ),
    ).fetchall()
    return {
        "since": None if query.since is None else _iso(query.since, tz),
        "until": None if query.until is None else _iso(query.until, tz),
        "kinds": list(query.kinds),
        "limit": query.limit,
        "more": len(rows) > query.limit,
        "entries": [
            {
                **json.loads(detail),
                "key": key,
                "at": _iso(at, tz),
                "kind": kind,
                "kwh": kwh,
                "price": price,
                "amount": amount,
            }
            for key, at, kind, kwh, price, amount, detail in rows[: query.limit]
        ],
        "gaps": [
            {
                "start": _iso(start, tz),
                "end": _iso(end, tz),
                "hours": round((end - start) / 3600, 2),
                "reason": reason,
                "energy": json.loads(energy),
            }
            for start, end, reason, energy in gap_rows
        ],
    }


def _iso(epoch: float, tz: tzinfo) -> str:
    return datetime.fromtimestamp(epoch, tz).isoformat()
