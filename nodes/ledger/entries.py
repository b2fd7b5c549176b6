"""The ledger's entries and gaps as the API lists them: newest first, a bounded page.

``EntryQuery.parse`` takes the query string of ``GET /api/ledger`` (``since``,
``until``, ``kind``, ``limit``, ``view``) and refuses a bad one with every problem
named by its parameter (``flowengine.errors.InvalidRequest``). Times are ISO 8601
(without an offset: the site's wall time; a date alone: its local midnight) or epoch
seconds. Entries are shown as they were posted, amounts unrounded.

``view=intervals`` gives one row per interval instead (``interval_rows``): the ten or
so entries a tick posts, side by side as columns, money signed the way a bill reads
(paid, earned, saved); an interval where nothing moved is left out, and ``kind`` keeps
the intervals with something of that kind. ``limit`` then counts intervals.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from flowengine import local_iso
from flowengine.errors import FieldProblem, InvalidRequest
from nodes.ledger.billing import BASELINE_TOTALS, KIND_TOTALS
from nodes.ledger.events import KINDS as INTERVAL_KINDS

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
PARAMETERS = ("since", "until", "kind", "limit", "view")
VIEWS = ("entries", "intervals")
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
    view: str = "entries"

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
        view = params.get("view", "").strip() or "entries"
        if view not in VIEWS:
            problems.append(FieldProblem("view", f"must be one of {', '.join(VIEWS)}"))
        if problems:
            raise InvalidRequest(problems)
        return cls(since, until, kinds, limit, view)


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
    gaps overlapping the span asked for, newest first; ``view=intervals``: a page of
    interval rows (``intervals``) instead of entries."""
    if query.view == "intervals":
        return intervals(db, query, tz)
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
    return {
        "since": None if query.since is None else local_iso(query.since, tz),
        "until": None if query.until is None else local_iso(query.until, tz),
        "kinds": list(query.kinds),
        "limit": query.limit,
        "more": len(rows) > query.limit,
        "entries": [
            {
                **json.loads(detail),
                "key": key,
                "at": local_iso(at, tz),
                "kind": kind,
                "kwh": kwh,
                "price": price,
                "amount": amount,
            }
            for key, at, kind, kwh, price, amount, detail in rows[: query.limit]
        ],
        "gaps": _gaps(db, query, tz),
    }


def _gaps(db: sqlite3.Connection, query: EntryQuery, tz: tzinfo) -> list[dict[str, Any]]:
    gap_rows = db.execute(
        "SELECT start, end, reason, energy FROM ledger_gaps WHERE end > ? AND start < ? "
        "ORDER BY start DESC LIMIT ?",
        (
            -math.inf if query.since is None else query.since,
            math.inf if query.until is None else query.until,
            query.limit,
        ),
    ).fetchall()
    return [
        {
            "start": local_iso(start, tz),
            "end": local_iso(end, tz),
            "hours": round((end - start) / 3600, 2),
            "reason": reason,
            "energy": json.loads(energy),
        }
        for start, end, reason, energy in gap_rows
    ]


# -- one row per interval -------------------------------------------------------------

#: An interval row's money and energy, each from one kind of entry. Money is signed as a
#: bill reads it: ``*_cost`` and ``*_paid`` are money paid (negative: paid to us),
#: ``*_revenue``, ``*_earned``, ``*_value`` and ``*_saving`` money earned or saved.
ROW_FIELDS = (
    "import_kwh",
    "import_price",
    "import_cost",
    "export_kwh",
    "export_price",
    "export_revenue",
    "bill",
    "settlement_paid",
    "settlement_earned",
    "self_consumption_kwh",
    "self_consumption_value",
    "battery_in_grid_kwh",
    "battery_in_solar_kwh",
    "battery_in_cost",
    "battery_out_home_kwh",
    "battery_out_grid_kwh",
    "battery_out_grid_earned",
    "battery_margin",
    "no_battery_cost",
    "no_battery_saving",
    "self_use_cost",
    "self_use_saving",
)


#: Less than this is float noise (0.1 - 0.1 + 1e-17), not energy or money: nothing.
NOTHING = 1e-9


def interval_rows(posted: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Entries (as the store holds them: ``key``, ``at``, ``kind``, ``kwh``, ``price``,
    ``amount``) folded into one row per interval, newest first. An interval is the
    entries sharing ``at`` and the end in their key (``<end>/<kind>``): a tick's entries
    make one row, a meter settlement of a slot another. A field no entry gave, or
    that is zero, is None ("nothing"), so a page shows only what happened; a row where
    nothing did is left out. ``bill`` is the interval's energy bill (import cost less
    export revenue, settlements included), and each saving is its baseline's cost
    less that bill."""
    groups: dict[tuple[float, str], list[Mapping[str, Any]]] = {}
    for entry in posted:
        end = str(entry["key"]).rsplit("/", 1)[0]
        groups.setdefault((float(entry["at"]), end), []).append(entry)
    rows = [_row(at, end, inside) for (at, end), inside in groups.items()]
    kept = [row for row in rows if any(row[name] is not None for name in ROW_FIELDS)]
    return sorted(kept, key=lambda row: (row["at"], row["key"]), reverse=True)


def _row(at: float, end: str, inside: list[Mapping[str, Any]]) -> dict[str, Any]:
    by_kind: dict[str, Mapping[str, Any]] = {}
    for entry in inside:
        by_kind[str(entry["kind"])] = entry

    def amount(kind: str) -> float:
        return float(by_kind[kind]["amount"]) if kind in by_kind else 0.0

    def kwh(kind: str) -> float:
        return float(by_kind[kind]["kwh"]) if kind in by_kind else 0.0

    def price(kind: str) -> float | None:
        found = by_kind.get(kind, {}).get("price")
        return None if found is None else float(found)

    import_cost, export_revenue = -amount("import_cost"), amount("export_revenue")
    settled_paid, settled_earned = -amount("import_settlement"), amount("export_settlement")
    bill = import_cost - export_revenue + settled_paid - settled_earned
    energy = ("import_cost", "export_revenue", "import_settlement", "export_settlement")
    row: dict[str, Any] = {
        "import_kwh": kwh("import_cost"),
        "import_price": price("import_cost") if kwh("import_cost") else None,
        "import_cost": import_cost,
        "export_kwh": kwh("export_revenue"),
        "export_price": price("export_revenue") if kwh("export_revenue") else None,
        "export_revenue": export_revenue,
        "bill": bill if any(k in by_kind for k in energy) else None,
        "settlement_paid": settled_paid,
        "settlement_earned": settled_earned,
        "self_consumption_kwh": kwh("self_consumption_saving"),
        "self_consumption_value": amount("self_consumption_saving"),
        "battery_in_grid_kwh": kwh("battery_charge_grid"),
        "battery_in_solar_kwh": kwh("battery_charge_solar"),
        "battery_in_cost": -amount("battery_charge_grid") - amount("battery_charge_solar"),
        "battery_out_home_kwh": kwh("battery_discharge_load"),
        "battery_out_grid_kwh": kwh("battery_discharge_grid"),
        "battery_out_grid_earned": kwh("battery_discharge_grid")
        * (price("battery_discharge_grid") or 0.0),
        "battery_margin": amount("arbitrage_pnl"),
        "no_battery_cost": None,
        "no_battery_saving": None,
        "self_use_cost": None,
        "self_use_saving": None,
    }
    for name, kind in (("no_battery", "baseline_no_battery"), ("self_use", "baseline_self_use")):
        if kind in by_kind:
            cost = -amount(kind)
            row[f"{name}_cost"] = cost
            row[f"{name}_saving"] = cost - (bill or 0.0)
    for name in ROW_FIELDS:
        value = row[name]
        if isinstance(value, float) and (abs(value) < NOTHING or not math.isfinite(value)):
            row[name] = None
    settlement = bool(by_kind) and all(k.endswith("_settlement") for k in by_kind)
    return {"key": f"{end}@{at!r}", "at": at, "end": end, "settlement": settlement, **row}


def intervals(db: sqlite3.Connection, query: EntryQuery, tz: tzinfo) -> dict[str, Any]:
    """A page of interval rows, newest first: the ``limit`` newest intervals with
    something in them (of ``kinds``, when given), every entry of each folded into its
    row; ``more``: older ones matched too."""
    where, args = ["(amount != 0 OR kwh != 0)"], []
    if query.since is not None:
        where.append("at >= ?")
        args.append(query.since)
    if query.until is not None:
        where.append("at < ?")
        args.append(query.until)
    picked = list(where)
    if query.kinds:
        picked.append(f"kind IN ({','.join('?' * len(query.kinds))})")
    times = [
        float(at)
        for (at,) in db.execute(
            f"SELECT DISTINCT at FROM ledger_events WHERE {' AND '.join(picked)} "
            "ORDER BY at DESC LIMIT ?",
            (*args, *query.kinds, query.limit + 1),
        )
    ]
    rows: list[dict[str, Any]] = []
    if times:
        chosen = set(times[: query.limit])
        posted = [
            {"key": key, "at": at, "kind": kind, "kwh": kwh, "price": price, "amount": amount}
            for key, at, kind, kwh, price, amount in db.execute(
                "SELECT key, at, kind, kwh, price, amount FROM ledger_events "
                "WHERE at >= ? AND at <= ? ORDER BY at DESC, id DESC",
                (min(chosen), max(chosen)),
            )
            if float(at) in chosen
        ]
        rows = interval_rows(posted)
        if query.kinds:
            rows = [row for row in rows if _has(row, query.kinds)]
    return {
        "since": None if query.since is None else local_iso(query.since, tz),
        "until": None if query.until is None else local_iso(query.until, tz),
        "kinds": list(query.kinds),
        "limit": query.limit,
        "view": "intervals",
        "more": len(times) > query.limit,
        "intervals": [
            {
                **row,
                "at": local_iso(row["at"], tz),
                "start": local_iso(row["at"], tz),
                "end": _end_iso(row["end"], tz),
            }
            for row in rows
        ],
        "gaps": _gaps(db, query, tz),
    }


#: The row fields an entry of each kind shows in (``kind`` keeps rows with one of them).
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "import_cost": ("import_kwh", "import_cost"),
    "export_revenue": ("export_kwh", "export_revenue"),
    "import_settlement": ("settlement_paid",),
    "export_settlement": ("settlement_earned",),
    "self_consumption_saving": ("self_consumption_kwh", "self_consumption_value"),
    "battery_charge_grid": ("battery_in_grid_kwh",),
    "battery_charge_solar": ("battery_in_solar_kwh",),
    "battery_discharge_load": ("battery_out_home_kwh",),
    "battery_discharge_grid": ("battery_out_grid_kwh",),
    "arbitrage_pnl": ("battery_margin",),
    "baseline_no_battery": ("no_battery_cost",),
    "baseline_self_use": ("self_use_cost",),
}


def _has(row: Mapping[str, Any], kinds: Iterable[str]) -> bool:
    return any(row.get(name) is not None for kind in kinds for name in KIND_FIELDS.get(kind, ()))


def _end_iso(end: str, tz: tzinfo) -> str:
    try:
        return datetime.fromisoformat(end).astimezone(tz).isoformat()
    except ValueError:
        return end
