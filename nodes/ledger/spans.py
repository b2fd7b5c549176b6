"""What the ledger says for any span of time: one function for every "so far" figure.

``tally`` adds up the entries of ``[start, until)`` into the bill (imports less
exports plus the fixed charges), the two counterfactual bills and the savings
beside it, with how much of the span the ledger covers. It is what each of these is
made of, so the same span gives the same figure under the same name ("net bill")
wherever it is shown:

- the open billing cycle so far (``GET /api/billing``'s ``current``, the Accounting
  page) and the spans the Overview's savings card shows (``spans``: today, this cycle,
  since the ledger began; ``nodes.ledger.cycles.statement``);
- a window of the Graphs page and each of its rows (``GET /api/history``'s ``bill``
  and ``net_bill``, ``ui/pages/graphs.py``).

**Fixed charges so far are pro rata** to the time the ledger covers: from when it
began (or the span's start) to ``until``, less its gaps (``billing.fixed_charges``).
Three hours of energy carry three hours of supply charge and of the monthly fee,
not a week's or a month's. A closed cycle is the retailer's bill instead: every day
of it, and the whole fee (``pro_rata=False``).

**Coverage** tells time before the ledger began (``before_s``: nothing was being
recorded, nothing is missing) from time in a gap after it began (``gap_s``: the
service was down, energy flowed that no figure holds). Only the second is a warning.

**The battery's stock** (``stored``): what the energy put into the battery in the
span cost (grid imports at their price, solar at the feed-in it forwent) less the
cost basis of the energy taken out. A saving can be negative while the battery holds
energy bought or kept for later; this says how much, so the page can say why.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from nodes.ledger.billing import (
    BASELINE_TOTALS,
    KIND_TOTALS,
    ZERO,
    CycleTotals,
    days_in,
    exact,
    fixed_charges,
    summarise,
)
from nodes.ledger.settings import BillingTerms

#: The entry kinds a span's bill and counterfactual bills are made of.
BILL_KINDS = (*KIND_TOTALS, *BASELINE_TOTALS)
#: Energy into the battery (amount: minus what it cost) and out of it (kwh x price less
#: amount: the cost basis of what was taken).
CHARGE_KINDS = ("battery_charge_grid", "battery_charge_solar")
DISCHARGE_KINDS = ("battery_discharge_load", "battery_discharge_grid")
#: Intervals the ledger priced with its baselines: what a saving needs one of.
INTERVAL_MARK = "baseline_no_battery"

Piece = tuple[float, float]


@dataclass(frozen=True)
class Coverage:
    """How the ledger covers ``[start, until)``: the ``pieces`` it accounts for, the
    ``gaps`` overlapping it and their seconds after the ledger began (``gap_s``), and the
    seconds before it began (``before_s``: all of them when it has not)."""

    pieces: tuple[Piece, ...] = ()
    gaps: int = 0
    gap_s: float = 0.0
    before_s: float = 0.0

    @property
    def covered_s(self) -> float:
        return sum(end - start for start, end in self.pieces)

    @property
    def unaccounted_s(self) -> float:
        return self.gap_s + self.before_s


def coverage(db: sqlite3.Connection, start: float, until: float, began: float | None) -> Coverage:
    """The time of ``[start, until)`` the ledger accounts for: after it ``began``, outside
    its gaps."""
    if until <= start:
        return Coverage()
    rows = db.execute(
        "SELECT start, end FROM ledger_gaps WHERE end > ? AND start < ? ORDER BY start",
        (start, until),
    ).fetchall()
    if began is None or began >= until:
        return Coverage((), len(rows), 0.0, until - start)
    first = max(start, began)
    holes = _union((max(float(s), first), min(float(e), until)) for s, e in rows)
    pieces: list[Piece] = []
    cursor = first
    for hole_start, hole_end in holes:
        if hole_start > cursor:
            pieces.append((cursor, hole_start))
        cursor = max(cursor, hole_end)
    if until > cursor:
        pieces.append((cursor, until))
    gap_s = sum(e - s for s, e in holes)
    return Coverage(tuple(pieces), len(rows), gap_s, first - start)


def _union(spans: Iterable[Piece]) -> list[Piece]:
    out: list[Piece] = []
    for begin, finish in sorted(spans):
        if finish <= begin:
            continue
        if out and begin <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], finish))
        else:
            out.append((begin, finish))
    return out


@dataclass(frozen=True)
class Tally:
    """A span's figures: ``[start, until)`` added up, ``end`` the end of the span it is
    part of (a cycle's end, for ``cycle_days`` and the projection; else ``until``)."""

    start: float
    end: float
    until: float
    totals: CycleTotals
    coverage: Coverage
    stored: Decimal = ZERO
    intervals: int = 0


def tally(
    db: sqlite3.Connection,
    start: float,
    until: float,
    terms: BillingTerms,
    began: float | None,
    *,
    end: float | None = None,
    pro_rata: bool = True,
) -> Tally:
    """The bill of ``[start, until)`` from the ledger in ``db``: with ``pro_rata`` (every
    figure "so far") the fixed charges cover the time the ledger does; without, the whole
    of ``[start, end)`` as a retailer bills a cycle."""
    finish = until if end is None else end
    stop = min(until, finish)
    covered = coverage(db, start, stop, began)
    if stop <= start:
        nothing = CycleTotals(charged_days=ZERO if pro_rata else None)
        return Tally(start, max(finish, start), max(stop, start), nothing, covered)
    if pro_rata:
        events, stored, intervals = _sums(db, start, stop)
    else:
        events, stored, intervals = _entries(db, start, stop)
    totals = summarise(
        events,
        start,
        finish,
        terms.timezone,
        terms.supply_charge,
        terms.monthly_fee,
        until=stop if pro_rata or end is None else None,
        covered=covered.pieces if pro_rata else None,
        start_day=terms.start_day,
    )
    return Tally(start, finish, stop, totals, covered, stored, intervals)


#: Money and kWh are added up in SQL as whole units of this many per $ (or kWh): exact,
#: where float sums are not, and a year of entries is added up in a fraction of a second.
SCALE = 10**10
_KINDS = (*BILL_KINDS, *CHARGE_KINDS, *DISCHARGE_KINDS)


def _sums(
    db: sqlite3.Connection, start: float, stop: float
) -> tuple[list[dict[str, Any]], Decimal, int]:
    """The entries of ``[start, stop)`` added up by kind in SQL (each amount to 1e-10 $):
    one event a kind for ``summarise``, the battery's stock and the intervals priced."""
    rows = db.execute(
        "SELECT kind, COUNT(*), "
        "SUM(CAST(ROUND(amount * ?) AS INTEGER)), SUM(CAST(ROUND(kwh * ?) AS INTEGER)), "
        "SUM(CAST(ROUND((kwh * COALESCE(price, 0) - amount) * ?) AS INTEGER)) "
        f"FROM ledger_events WHERE at >= ? AND at < ? AND kind IN ({','.join('?' * len(_KINDS))}) "
        f"AND (amount != 0 OR kwh != 0 OR kind IN ({','.join('?' * len(BASELINE_TOTALS))})) "
        "GROUP BY kind",
        (SCALE, SCALE, SCALE, start, stop, *_KINDS, *BASELINE_TOTALS),
    ).fetchall()
    scale = Decimal(SCALE)
    events, stored, intervals = [], ZERO, 0
    for kind, count, amount, kwh, taken in rows:
        if kind in CHARGE_KINDS:
            stored -= Decimal(amount) / scale
        elif kind in DISCHARGE_KINDS:
            stored -= Decimal(taken) / scale
        else:
            total = {"kwh": Decimal(kwh) / scale, "amount": Decimal(amount) / scale}
            events.append({"at": start, "kind": kind, **total})
            intervals += count if kind == INTERVAL_MARK else 0
    return events, stored, intervals


def _entries(
    db: sqlite3.Connection, start: float, stop: float
) -> tuple[list[dict[str, Any]], Decimal, int]:
    """The entries of ``[start, stop)`` one by one, each amount the exact decimal it prints
    as (a closed cycle, as it has always been kept): ``_sums``'s, entry by entry."""
    marks = ",".join("?" * len(_KINDS))
    rows = db.execute(
        f"SELECT at, kind, kwh, price, amount FROM ledger_events "
        f"WHERE at >= ? AND at < ? AND kind IN ({marks}) "
        # An entry of nothing adds nothing, but a baseline's says the baseline was kept.
        f"AND (amount != 0 OR kwh != 0 OR kind IN ({','.join('?' * len(BASELINE_TOTALS))}))",
        (start, stop, *_KINDS, *BASELINE_TOTALS),
    ).fetchall()
    events: list[dict[str, Any]] = []
    stored, intervals = ZERO, 0
    for at, kind, kwh, price, amount in rows:
        if kind in CHARGE_KINDS:
            stored -= exact(kind, amount)
        elif kind in DISCHARGE_KINDS:
            stored -= exact(kind, kwh) * exact(kind, price or 0.0) - exact(kind, amount)
        else:
            events.append({"at": at, "kind": kind, "kwh": kwh, "amount": amount})
            intervals += kind == INTERVAL_MARK
    return events, stored, intervals


def combined(
    parts: Sequence[CycleTotals],
    db: sqlite3.Connection,
    start: float,
    until: float,
    terms: BillingTerms,
    began: float | None,
) -> Tally:
    """``[start, until)`` from the totals of the cycles it is made of (kept ones and the
    open one), without adding up their entries again: their energy and counterfactual
    bills summed, the fixed charges pro rata over the whole span, as ``tally`` would."""
    covered = coverage(db, start, until, began)
    if until <= start:
        return Tally(start, start, start, CycleTotals(charged_days=ZERO), covered)
    sums: dict[str, Decimal] = {}
    for name in (
        "import_kwh",
        "export_kwh",
        "import_cost",
        "export_revenue",
        "self_consumption_value",
        "arbitrage_pnl",
    ):
        sums[name] = sum((getattr(part, name) for part in parts), ZERO)
    baselines: dict[str, Decimal | None] = {}
    for name in BASELINE_TOTALS.values():
        known = [getattr(part, name) for part in parts if getattr(part, name) is not None]
        baselines[name] = sum(known, ZERO) if known else None
    fixed = fixed_charges(
        covered.pieces, terms.timezone, terms.supply_charge, terms.monthly_fee, terms.start_day
    )
    totals = CycleTotals(
        **sums,
        no_battery_bill=baselines["no_battery_bill"],
        self_use_bill=baselines["self_use_bill"],
        supply_charges=fixed.supply,
        monthly_fees=fixed.fees,
        supply_days=fixed.touched,
        cycle_days=days_in(start, until, terms.timezone),
        charged_days=fixed.days,
    )
    stored, intervals = battery_stock(db, start, until)
    return Tally(start, until, until, totals, covered, stored, intervals)


def battery_stock(db: sqlite3.Connection, start: float, until: float) -> tuple[Decimal, int]:
    """What went into the battery in ``[start, until)`` less the cost basis of what came
    out, and how many intervals were priced with baselines (a sum in SQL: a note, not a
    figure on a bill)."""
    charge = ",".join("?" * len(CHARGE_KINDS))
    discharge = ",".join("?" * len(DISCHARGE_KINDS))
    put, taken, intervals = db.execute(
        f"SELECT -TOTAL(CASE WHEN kind IN ({charge}) THEN amount END), "
        f"TOTAL(CASE WHEN kind IN ({discharge}) THEN kwh * COALESCE(price, 0) - amount END), "
        "COUNT(CASE WHEN kind = ? THEN 1 END) "
        "FROM ledger_events WHERE at >= ? AND at < ?",
        (*CHARGE_KINDS, *DISCHARGE_KINDS, INTERVAL_MARK, start, until),
    ).fetchone()
    return exact("stored", put) - exact("taken", taken), int(intervals)


def fixed_for(
    db: sqlite3.Connection,
    bounds: Sequence[Piece],
    terms: BillingTerms,
    began: float | None,
) -> list[Decimal]:
    """The fixed charges (supply and fees, pro rata) of each ``(start, until)``, as
    ``tally`` charges them: a Graphs row's share of its window's."""
    out = []
    for start, until in bounds:
        pieces = coverage(db, start, until, began).pieces
        fixed = fixed_charges(
            pieces, terms.timezone, terms.supply_charge, terms.monthly_fee, terms.start_day
        )
        out.append(fixed.supply + fixed.fees)
    return out
