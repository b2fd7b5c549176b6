"""Billing cycles kept: each ended cycle's bill stored once, and kept true to its entries.

``close_cycles`` runs after each posting (``ledger.post``). The first posting at or
after a boundary stores every cycle that has ended and is not stored yet, from the
cycle the ledger began in, so the history has no holes (a cycle the service was down
for throughout still gets its row, all of it unaccounted). A row is a snapshot: the
totals as ``billing.summarise`` adds up the cycle's entries, the ledger gaps that
overlap it, and the terms (fixed charges, time zone) in force when it closed.

Entries can arrive for a cycle after it closed (a settlement from the retailer's
meter data a day later, say). Each run notes the newest entry and gap it has seen;
when a newer one is dated before the open cycle, every stored cycle from that date
on is added up again from its entries, with the terms it closed with, and its
``revision`` counts up. The API shows the snapshots; the open cycle, and any ended
cycle not stored yet, it adds up when asked.

A changed ``start_day`` takes effect at the next boundary: the cycle after the
newest stored one starts where that one ended and runs to the next ``start_day``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flowengine import local_iso, transaction
from nodes.ledger.billing import (
    CENT,
    ZERO,
    Bounds,
    CycleTotals,
    cycle_bounds,
    local_midnight,
    project,
    zone,
)
from nodes.ledger.settings import BillingTerms
from nodes.ledger.spans import BILL_KINDS, Coverage, Tally, combined, fixed_for, tally

__all__ = ["BILL_KINDS", "Cycle", "add_up", "close_cycles", "closed", "kept", "statement", "window"]

#: Where ``close_cycles`` notes what it has seen, in ``ledger_state``.
MARK = "cycles"


@dataclass(frozen=True)
class Cycle:
    """One cycle's totals and how much of it the ledger accounted for.

    ``until`` is where the figures stop: the cycle's end once closed, now while open.
    ``unaccounted_s`` is the part of ``[start, until)`` inside ledger gaps or before
    the ledger began: energy there is in no figure. ``before_s`` is the part of it before
    the ledger began (None for a kept cycle: ``figures`` works it out from when the
    ledger began); ``stored`` and ``intervals`` are ``spans.Tally``'s.
    """

    start: float
    end: float
    totals: CycleTotals
    terms: BillingTerms
    until: float
    gaps: int = 0
    unaccounted_s: float = 0.0
    closed_at: float | None = None
    updated_at: float | None = None
    revision: int = 0
    before_s: float | None = None
    stored: Decimal = ZERO
    intervals: int = 0

    @property
    def complete(self) -> bool:
        return self.unaccounted_s == 0


def add_up(
    db: sqlite3.Connection,
    start: float,
    end: float,
    terms: BillingTerms,
    began: float | None,
    until: float | None = None,
) -> Cycle:
    """The cycle ``[start, end)`` from the entries and gaps in ``db``: closed (``until``
    None), the retailer's bill; open, up to ``until`` with its fixed charges so far pro
    rata (``spans.tally``, the one function every "so far" figure comes from)."""
    stop = end if until is None else min(end, max(until, start))
    figures = tally(db, start, stop, terms, began, end=end, pro_rata=until is not None)
    return _from_tally(figures, terms)


def _from_tally(figures: Tally, terms: BillingTerms) -> Cycle:
    cover = figures.coverage
    return Cycle(
        figures.start,
        figures.end,
        figures.totals,
        terms,
        figures.until,
        cover.gaps,
        cover.unaccounted_s,
        before_s=cover.before_s,
        stored=figures.stored,
        intervals=figures.intervals,
    )


def ledger_began(db: sqlite3.Connection) -> float | None:
    """When the ledger's record starts: its first reading (``started`` in its state), else
    its first entry or gap (None: nothing yet)."""
    mark = _mark(db)
    if mark.get("began") is not None:
        return float(mark["began"])
    return _first_record(db)


def _first_record(db: sqlite3.Connection) -> float | None:
    row = db.execute("SELECT value FROM ledger_state WHERE name = 'started'").fetchone()
    started = json.loads(row[0]) if row else None
    if isinstance(started, int | float):
        return float(started)
    (first_event,) = db.execute("SELECT MIN(at) FROM ledger_events").fetchone()
    (first_gap,) = db.execute("SELECT MIN(start) FROM ledger_gaps").fetchone()
    known = [float(v) for v in (first_event, first_gap) if v is not None]
    return min(known) if known else None


def ended(cursor: float, now: float, terms: BillingTerms) -> list[Bounds]:
    """The cycles from ``cursor`` that ended at or before ``now``, oldest first."""
    out: list[Bounds] = []
    while True:
        end = cycle_bounds(cursor, terms.start_day, terms.timezone)[1]
        if end > now:
            return out
        out.append((cursor, end))
        cursor = end


def _next_start(
    db: sqlite3.Connection, terms: BillingTerms, began: float | None, now: float
) -> float:
    """Where the first cycle not stored starts: the newest stored one's end, else the
    start of the cycle the ledger began in (or of today's, before it began)."""
    (newest_end,) = db.execute("SELECT MAX(end) FROM ledger_cycles").fetchone()
    if newest_end is not None:
        return float(newest_end)
    return cycle_bounds(now if began is None else began, terms.start_day, terms.timezone)[0]


#: The time a cycle's figures must cover before they are carried to its end.
MIN_PROJECTION_S = 86400.0


# -- keeping closed cycles ----------------------------------------------------------


def close_cycles(db: sqlite3.Connection, now: float, terms: BillingTerms) -> list[Cycle]:
    """Store every ended cycle not stored yet and add up again any stored cycle a late
    entry or gap fell into, in one transaction; the cycles written (none on most calls)."""
    with transaction(db, immediate=True):
        return _close(db, now, terms)


def _close(db: sqlite3.Connection, now: float, terms: BillingTerms) -> list[Cycle]:
    mark = _mark(db)
    began = float(mark["began"]) if mark.get("began") is not None else _first_record(db)
    (top_event,) = db.execute("SELECT MAX(id) FROM ledger_events").fetchone()
    (top_gap,) = db.execute("SELECT MAX(rowid) FROM ledger_gaps").fetchone()
    # MIN(+at): walk only the rows added since the mark, not the time index from its start.
    (late_event,) = db.execute(
        "SELECT MIN(+at) FROM ledger_events WHERE id > ?", (int(mark.get("event_id", 0)),)
    ).fetchone()
    (late_gap,) = db.execute(
        "SELECT MIN(+start) FROM ledger_gaps WHERE rowid > ?", (int(mark.get("gap_rowid", 0)),)
    ).fetchone()
    written: list[Cycle] = []
    late = [float(v) for v in (late_event, late_gap) if v is not None]
    if late:
        written += _refresh(db, min(late), now, began)
    if began is not None:
        for start, end in ended(_next_start(db, terms, began, now), now, terms):
            cycle = add_up(db, start, end, terms, began)
            _store(db, cycle, closed_at=now, updated_at=now, revision=1)
            written.append(kept(db, start) or cycle)
    _set_mark(db, {"event_id": top_event or 0, "gap_rowid": top_gap or 0, "began": began})
    return written


def _refresh(db: sqlite3.Connection, since: float, now: float, began: float | None) -> list[Cycle]:
    """Add up again each stored cycle ending after ``since``, where anything changed."""
    written = []
    for old in _rows(db, "WHERE end > ? ORDER BY start", (since,)):
        fresh = add_up(db, old.start, old.end, old.terms, began)
        if (fresh.totals, fresh.gaps, fresh.unaccounted_s) == (
            old.totals,
            old.gaps,
            old.unaccounted_s,
        ):
            continue
        _store(db, fresh, closed_at=old.closed_at or now, updated_at=now, revision=old.revision + 1)
        written.append(kept(db, old.start) or fresh)
    return written


def _store(
    db: sqlite3.Connection, cycle: Cycle, *, closed_at: float, updated_at: float, revision: int
) -> None:
    db.execute(
        "INSERT INTO ledger_cycles (start, end, totals, terms, gaps, unaccounted_s, closed_at, "
        "updated_at, revision) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (start) DO UPDATE "
        "SET end = excluded.end, totals = excluded.totals, terms = excluded.terms, "
        "gaps = excluded.gaps, unaccounted_s = excluded.unaccounted_s, "
        "updated_at = excluded.updated_at, revision = excluded.revision",
        (
            cycle.start,
            cycle.end,
            json.dumps(encode(cycle.totals), sort_keys=True),
            json.dumps(cycle.terms.as_dict(), sort_keys=True),
            cycle.gaps,
            cycle.unaccounted_s,
            closed_at,
            updated_at,
            revision,
        ),
    )


def kept(db: sqlite3.Connection, start: float) -> Cycle | None:
    """The stored cycle starting at ``start``, if there is one."""
    found = _rows(db, "WHERE start = ?", (start,))
    return found[0] if found else None


def closed(db: sqlite3.Connection) -> list[Cycle]:
    """Every stored cycle, newest first."""
    return _rows(db, "ORDER BY start DESC", ())


def _rows(db: sqlite3.Connection, where: str, args: tuple[Any, ...]) -> list[Cycle]:
    query = (
        "SELECT start, end, totals, terms, gaps, unaccounted_s, closed_at, updated_at, revision "
        f"FROM ledger_cycles {where}"
    )
    return [_cycle(*row) for row in db.execute(query, args)]


def _cycle(
    start: float,
    end: float,
    totals: str,
    terms: str,
    gaps: int,
    unaccounted_s: float,
    closed_at: float,
    updated_at: float,
    revision: int,
) -> Cycle:
    return Cycle(
        start=start,
        end=end,
        totals=decode(json.loads(totals)),
        terms=BillingTerms.from_dict(json.loads(terms)),
        until=end,
        gaps=gaps,
        unaccounted_s=unaccounted_s,
        closed_at=closed_at,
        updated_at=updated_at,
        revision=revision,
    )


def encode(totals: CycleTotals) -> dict[str, Any]:
    """Totals as JSON: money and kWh as exact decimal strings, day counts as numbers."""
    return {
        field.name: str(value) if isinstance(value, Decimal) else value
        for field in fields(totals)
        for value in (getattr(totals, field.name),)
    }


def decode(data: Mapping[str, Any]) -> CycleTotals:
    values: dict[str, Any] = {
        name: Decimal(value) if isinstance(value, str) else value for name, value in data.items()
    }
    return CycleTotals(**values)


def _mark(db: sqlite3.Connection) -> dict[str, Any]:
    row = db.execute("SELECT value FROM ledger_state WHERE name = ?", (MARK,)).fetchone()
    value = json.loads(row[0]) if row else {}
    return value if isinstance(value, dict) else {}


def _set_mark(db: sqlite3.Connection, mark: Mapping[str, Any]) -> None:
    db.execute(
        "INSERT INTO ledger_state (name, value) VALUES (?, ?) "
        "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        (MARK, json.dumps(dict(mark), sort_keys=True)),
    )


# -- the bill, as the API shows it -------------------------------------------------


def statement(db: sqlite3.Connection, now: float, terms: BillingTerms) -> dict[str, Any]:
    """The open cycle so far and projected to its end, and every closed cycle, newest
    first (one ended but not stored yet, before the first posting after its end, is
    added up here and says ``"stored": false``), and ``spans``: today, this cycle and
    since the ledger began, so far (the Overview's savings). Money to the cent as
    strings."""
    began = ledger_began(db)
    pending = ended(_next_start(db, terms, began, now), now, terms)
    start = pending[-1][1] if pending else _next_start(db, terms, began, now)
    end = cycle_bounds(max(now, start), terms.start_day, terms.timezone)[1]
    current = add_up(db, start, end, terms, began, until=now)
    unsaved = [add_up(db, s, e, terms, began) for s, e in reversed(pending)]
    kept_cycles = closed(db)
    place = zone(terms.timezone)
    midnight = local_midnight(datetime.fromtimestamp(now, place).date(), place)
    today = tally(db, midnight, now, terms, began)
    since = now if began is None else min(began, now)
    history = [c.totals for c in (*kept_cycles, *unsaved) if c.end > since]
    whole = combined([*history, current.totals], db, since, now, terms, began)
    return {
        "time": _iso(now, terms),
        "terms": terms.as_dict(),
        "ledger_began": None if began is None else _iso(began, terms),
        "current": open_figures(current),
        "closed": [
            *({**figures(cycle, began), "status": "closed", "stored": False} for cycle in unsaved),
            *(closed_figures(cycle, began) for cycle in kept_cycles),
        ],
        "spans": {
            "today": span_figures(today, terms),
            "cycle": span_figures(_as_tally(current), terms),
            "since_began": span_figures(whole, terms),
        },
    }


def _as_tally(cycle: Cycle) -> Tally:
    before = cycle.before_s or 0.0
    return Tally(
        cycle.start,
        cycle.end,
        cycle.until,
        cycle.totals,
        Coverage((), cycle.gaps, cycle.unaccounted_s - before, before),
        cycle.stored,
        cycle.intervals,
    )


def span_figures(figures: Tally, terms: BillingTerms) -> dict[str, Any]:
    """A span so far (``spans.tally``): its bill, counterfactual bills and savings to the
    cent, how much of it the ledger covers, and what the battery holds of it at cost."""
    shown = figures.totals.rounded()
    cover = figures.coverage
    return {
        "start": _iso(figures.start, terms),
        "as_of": _iso(figures.until, terms),
        **_lines(shown),
        "covered_hours": round(
            max(0.0, figures.until - figures.start - cover.unaccounted_s) / 3600, 2
        ),
        "gaps": cover.gaps,
        "gap_hours": round(cover.gap_s / 3600, 2),
        "before_ledger_hours": round(cover.before_s / 3600, 2),
        "intervals": figures.intervals,
        "battery_stored": str(figures.stored.quantize(CENT, rounding=ROUND_HALF_UP)),
    }


def open_figures(cycle: Cycle) -> dict[str, Any]:
    """An open cycle so far, and its linear projection over the time accounted for
    (None until a day is: a morning's figures carried over a month say nothing)."""
    span = cycle.end - cycle.start
    accounted = (cycle.until - cycle.start) - cycle.unaccounted_s
    fraction = min(1.0, accounted / span)
    projected = None
    if accounted >= MIN_PROJECTION_S:
        terms = cycle.terms
        whole = project(
            cycle.totals, fraction, daily_supply=terms.supply_charge, monthly_fee=terms.monthly_fee
        ).rounded()
        projected = {"days": whole.cycle_days, **_lines(whole)}
    return {
        **figures(cycle),
        "status": "open",
        "as_of": _iso(cycle.until, cycle.terms),
        "accounted_fraction": round(max(0.0, fraction), 4),
        "projected": projected,
        "intervals": cycle.intervals,
        "battery_stored": str(cycle.stored.quantize(CENT, rounding=ROUND_HALF_UP)),
    }


def closed_figures(cycle: Cycle, began: float | None = None) -> dict[str, Any]:
    return {
        **figures(cycle, began),
        "status": "closed",
        "stored": True,
        "closed_at": None if cycle.closed_at is None else _iso(cycle.closed_at, cycle.terms),
        "updated_at": None if cycle.updated_at is None else _iso(cycle.updated_at, cycle.terms),
        "revision": cycle.revision,
    }


def figures(cycle: Cycle, began: float | None = None) -> dict[str, Any]:
    """A cycle's bill lines, savings figures and counterfactual bills, to the cent, and
    its coverage: ``unaccounted_hours`` (in a gap or before the ledger began) split into
    ``gap_hours`` (a gap: energy flowed that no figure holds) and ``before_ledger_hours``
    (nothing was recorded yet; nothing is missing)."""
    shown = cycle.totals.rounded()
    before = cycle.before_s
    if before is None:  # a kept cycle: the time before the ledger began, from when it did
        stop = cycle.until if began is None else min(max(began, cycle.start), cycle.until)
        before = stop - cycle.start
    before = min(before, cycle.unaccounted_s)
    return {
        "start": _iso(cycle.start, cycle.terms),
        "end": _iso(cycle.end, cycle.terms),
        "days": shown.cycle_days,
        **_lines(shown),
        "gaps": cycle.gaps,
        "unaccounted_hours": round(cycle.unaccounted_s / 3600, 2),
        "gap_hours": round((cycle.unaccounted_s - before) / 3600, 2),
        "before_ledger_hours": round(before / 3600, 2),
        "complete": cycle.complete,
    }


def _lines(shown: CycleTotals) -> dict[str, Any]:
    return {
        "bill": {
            "import_kwh": str(shown.import_kwh),
            "export_kwh": str(shown.export_kwh),
            "import_cost": str(shown.import_cost),
            "export_revenue": str(shown.export_revenue),
            "supply_days": shown.supply_days,
            "supply_charges": str(shown.supply_charges),
            "monthly_fees": str(shown.monthly_fees),
            "net_bill": str(shown.net_bill),
            # Days the fixed charges cover, pro rata ("so far"); a closed cycle's are whole.
            **({} if shown.charged_days is None else {"charged_days": str(shown.charged_days)}),
        },
        "savings": {
            "self_consumption_value": str(shown.self_consumption_value),
            "arbitrage_pnl": str(shown.arbitrage_pnl),
        },
        "no_battery": _counterfactual(
            shown.no_battery_bill, shown.no_battery_net_bill, shown.saving_vs_no_battery
        ),
        "self_use": _counterfactual(
            shown.self_use_bill, shown.self_use_net_bill, shown.saving_vs_self_use
        ),
    }


def _counterfactual(
    energy: Decimal | None, bill: Decimal | None, saving: Decimal | None
) -> dict[str, str] | None:
    if energy is None or bill is None or saving is None:
        return None
    return {"energy": str(energy), "net_bill": str(bill), "saving": str(saving)}


def _iso(epoch: float, terms: BillingTerms) -> str:
    return local_iso(epoch, zone(terms.timezone))


def window(
    db: sqlite3.Connection,
    since: float,
    until: float,
    terms: BillingTerms,
    rows: Sequence[tuple[float, float]] = (),
) -> dict[str, Any]:
    """Any window's figures so far, as ``spans`` shows today's or the cycle's (the Graphs
    page's window: ``GET /api/history``'s ``bill``), and the fixed charges, pro rata, of
    each of ``rows`` (``(start, until)`` epochs) as ``row_fixed_charges`` (exact strings)."""
    began = ledger_began(db)
    shown = span_figures(tally(db, since, until, terms, began), terms)
    fixed = fixed_for(db, rows, terms, began)
    return {**shown, "row_fixed_charges": [str(value) for value in fixed]}
