"""Settling the ledger's provisional cash entries against the retailer's meter data.

The control tick books imports and exports from the inverter's own counters,
which step in 0.1 kWh: good for a running figure, but a bill is computed from
the retailer's meter, interval by interval, at that interval's price. When the
meter's billable data for a slot arrives (Amber's ``/usage``, or the simulated
site's meter in the demo and in backtests: the ``usage`` input), each slot is
settled once: an ``import_settlement`` and an ``export_settlement`` entry carry
the difference between what the meter billed and what the ledger booked for
the slot, so the slot's cash entries then add up to the bill exactly. A slot
the service was down for (a gap, with no provisional entries) is settled in
full: the meter saw what the counters could not price.

A slot is settled only once the ledger has read past its end (no provisional
entry can arrive for it later) and only from billable data (an estimated read
may still change). Entries are dated at the slot's start, so a slot belongs to
the billing cycle its energy flowed in, and keyed ``<slot end>/<kind>``, so a
slot settles once however often its data is fetched.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from nodes.ledger.events import idempotency_key
from nodes.ledger.store import post

#: The provisional kinds each settlement corrects, with the meter's figures for it.
SETTLES = {
    "import_settlement": ("import_cost", "import_kwh", "import_cost"),
    "export_settlement": ("export_revenue", "export_kwh", "export_revenue"),
}


class UsageError(ValueError):
    """A meter interval that cannot be settled; the message says which and why."""


@dataclass(frozen=True, slots=True)
class MeterInterval:
    """One slot of the retailer's meter data: kWh each way and what they were billed ($)."""

    start: float
    end: float
    import_kwh: float
    export_kwh: float
    import_cost: float  # $ paid for the imports (< 0 when import prices were negative)
    export_revenue: float  # $ earned for the exports (< 0 when exporting cost money)
    billable: bool

    @classmethod
    def from_dict(cls, item: Mapping[str, Any], index: int) -> MeterInterval:
        def number(name: str) -> float:
            value = item.get(name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise UsageError(
                    f"usage interval [{index}]: {name} must be a number, not {value!r}"
                )
            if not math.isfinite(value):
                raise UsageError(f"usage interval [{index}]: {name} is not finite ({value})")
            return float(value)

        interval = cls(
            number("start"),
            number("end"),
            number("import_kwh"),
            number("export_kwh"),
            number("import_cost"),
            number("export_revenue"),
            item.get("quality") == "billable",
        )
        if interval.end <= interval.start:
            raise UsageError(f"usage interval [{index}]: end is not after start")
        if interval.import_kwh < 0 or interval.export_kwh < 0:
            raise UsageError(f"usage interval [{index}]: kWh must not be negative")
        return interval


def settle(
    db: sqlite3.Connection,
    intervals: Iterable[Mapping[str, Any]],
    since: float,
    through: float,
) -> int:
    """Settle every billable interval inside ``[since, through]`` (the ledger's first and
    last readings) not settled yet; how many entries were posted. A slot from before the
    ledger began is not its to settle: nothing was booked for it."""
    meter = [MeterInterval.from_dict(item, i) for i, item in enumerate(intervals)]
    due = [m for m in meter if m.billable and since <= m.start and m.end <= through]
    if not due:
        return 0
    settled = _settled_keys(db, due)
    events: list[dict[str, Any]] = []
    for interval in due:
        for kind in SETTLES:
            key = _key(interval, kind)
            if key not in settled:
                events.append(_settlement(db, interval, kind, key))
    return post(db, events) if events else 0


def ledger_start(db: sqlite3.Connection, state: Mapping[str, Any]) -> float:
    """When the ledger's first reading was (a ledger from before this was recorded: its
    oldest entry or gap)."""
    started = state.get("started")
    if isinstance(started, int | float):
        return float(started)
    row = db.execute(
        "SELECT MIN(t) FROM (SELECT MIN(at) AS t FROM ledger_events "
        "UNION ALL SELECT MIN(start) FROM ledger_gaps)"
    ).fetchone()
    return float(row[0]) if row and row[0] is not None else math.inf


def _key(interval: MeterInterval, kind: str) -> str:
    return idempotency_key(datetime.fromtimestamp(interval.end, UTC), kind)


def _settled_keys(db: sqlite3.Connection, due: list[MeterInterval]) -> set[str]:
    keys = [_key(m, kind) for m in due for kind in SETTLES]
    found: set[str] = set()
    for i in range(0, len(keys), 500):  # SQLite caps the parameters of one statement
        chunk = keys[i : i + 500]
        marks = ",".join("?" * len(chunk))
        found.update(
            k for (k,) in db.execute(f"SELECT key FROM ledger_events WHERE key IN ({marks})", chunk)
        )
    return found


def _settlement(
    db: sqlite3.Connection, interval: MeterInterval, kind: str, key: str
) -> dict[str, Any]:
    provisional_kind, kwh_field, money_field = SETTLES[kind]
    booked_kwh, booked_amount = db.execute(
        "SELECT COALESCE(SUM(kwh), 0), COALESCE(SUM(amount), 0) FROM ledger_events "
        "WHERE kind = ? AND at >= ? AND at < ?",
        (provisional_kind, interval.start, interval.end),
    ).fetchone()
    metered_kwh = getattr(interval, kwh_field)
    billed = getattr(interval, money_field)
    # Amounts are cash flows: money spent on imports is negative, export revenue positive.
    billed_amount = -billed if provisional_kind == "import_cost" else billed
    return {
        "key": key,
        "at": interval.start,
        "kind": kind,
        "kwh": metered_kwh - float(booked_kwh),
        "price": billed / metered_kwh if metered_kwh > 0 else None,
        "amount": billed_amount - float(booked_amount),
        "cash": True,
        "detail": {
            "metered_kwh": metered_kwh,
            "billed": billed,
            "provisional_kwh": float(booked_kwh),
            "provisional_amount": float(booked_amount),
            "slot_end": interval.end,
        },
    }
