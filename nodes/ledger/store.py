"""The ledger's tables in the site database: append-only, idempotent, gap-aware.

Every posting writes its events and the ledger's running state (the counters
it last saw, the cost basis) in one transaction, and each event's key is unique:
replaying a tick after a crash or restart finds its events already there and
posts nothing twice, and a crash mid-posting loses nothing (none of it landed,
so the tick posts again). A span the service was down is a gap row with the
energy the counters moved across it, never events priced by guesswork.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

from flowengine import transaction
from flowengine.migrations import Migration, migrate

COMPONENT = "ledger"
MIGRATIONS = (
    Migration(
        1,
        """
CREATE TABLE IF NOT EXISTS ledger_events (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    at REAL NOT NULL,
    kind TEXT NOT NULL,
    kwh REAL NOT NULL,
    price REAL,
    amount REAL NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ledger_events_by_time ON ledger_events (at);
CREATE TABLE IF NOT EXISTS ledger_gaps (
    start REAL NOT NULL,
    end REAL NOT NULL,
    reason TEXT NOT NULL,
    energy TEXT NOT NULL,
    PRIMARY KEY (start, end)
);
CREATE TABLE IF NOT EXISTS ledger_state (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
""",
        "append-only events, gaps, running state",
    ),
    Migration(
        2,
        """
CREATE TABLE ledger_cycles (
    start REAL PRIMARY KEY,
    end REAL NOT NULL,
    totals TEXT NOT NULL,
    terms TEXT NOT NULL,
    gaps INTEGER NOT NULL,
    unaccounted_s REAL NOT NULL,
    closed_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    revision INTEGER NOT NULL
);
""",
        "closed billing cycles kept (nodes/ledger/cycles.py)",
    ),
)


def ensure_schema(db: sqlite3.Connection) -> None:
    migrate(db, COMPONENT, MIGRATIONS)


class NoLedger(LookupError):
    """The site database holds no ledger at this release's version (no ``ledger.post``
    has started on it)."""


def require_schema(db: sqlite3.Connection) -> None:
    """Raise ``NoLedger`` unless the ledger's tables are here and current; reads only."""
    try:
        row = db.execute(
            "SELECT version FROM schema_versions WHERE component = ?", (COMPONENT,)
        ).fetchone()
    except sqlite3.OperationalError:
        row = None
    if row is None or int(row[0]) != len(MIGRATIONS):
        raise NoLedger(
            "no ledger in the site database: the flows run no ledger.post on it "
            f"(schema {row[0] if row else 'absent'}, this release keeps {len(MIGRATIONS)})"
        )


def post(
    db: sqlite3.Connection,
    events: Iterable[Mapping[str, Any]],
    state: Mapping[str, Any] | None = None,
    gap: Mapping[str, Any] | None = None,
) -> int:
    """Append ``events`` (each with key, at, kind, kwh, price, amount), record ``gap``
    and replace the running ``state``, all in one transaction; how many events were
    new (a replayed key is skipped, not doubled)."""
    rows = [
        (
            str(e["key"]),
            float(e["at"]),
            str(e["kind"]),
            float(e["kwh"]),
            None if e.get("price") is None else float(e["price"]),
            float(e["amount"]),
            json.dumps({k: v for k, v in e.items() if k not in _COLUMNS}, sort_keys=True),
        )
        for e in events
    ]
    with transaction(db, immediate=True):
        before = db.total_changes
        db.executemany(
            "INSERT OR IGNORE INTO ledger_events (key, at, kind, kwh, price, amount, detail) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        added = db.total_changes - before
        if gap is not None:
            db.execute(
                "INSERT OR IGNORE INTO ledger_gaps (start, end, reason, energy) "
                "VALUES (?, ?, ?, ?)",
                (
                    float(gap["start"]),
                    float(gap["end"]),
                    str(gap["reason"]),
                    json.dumps(gap.get("energy") or {}, sort_keys=True),
                ),
            )
        for name, value in (state or {}).items():
            db.execute(
                "INSERT INTO ledger_state (name, value) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (name, json.dumps(value, sort_keys=True)),
            )
    return added


def load_state(db: sqlite3.Connection) -> dict[str, Any]:
    return {
        name: json.loads(value)
        for name, value in db.execute("SELECT name, value FROM ledger_state")
    }


def events_between(db: sqlite3.Connection, start: float, end: float) -> list[dict[str, Any]]:
    """Events with ``start <= at < end``, oldest first, as posted."""
    out = []
    for key, at, kind, kwh, price, amount, detail in db.execute(
        "SELECT key, at, kind, kwh, price, amount, detail FROM ledger_events "
        "WHERE at >= ? AND at < ? ORDER BY at, id",
        (start, end),
    ):
        out.append(
            {
                "key": key,
                "at": at,
                "kind": kind,
                "kwh": kwh,
                "price": price,
                "amount": amount,
                **json.loads(detail),
            }
        )
    return out


def gaps(db: sqlite3.Connection) -> list[dict[str, Any]]:
    return [
        {"start": s, "end": e, "reason": r, "energy": json.loads(energy)}
        for s, e, r, energy in db.execute(
            "SELECT start, end, reason, energy FROM ledger_gaps ORDER BY start"
        )
    ]


_COLUMNS = ("key", "at", "kind", "kwh", "price", "amount")
