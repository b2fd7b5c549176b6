"""The engine's SQLite file: one file, WAL mode, survives power cuts; and the one way to
write to it (or to any SQLite file a node package keeps) all or nothing."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS context (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    updated REAL NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE TABLE IF NOT EXISTS traces (
    flow_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    started REAL NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (flow_id, run_id)
);
CREATE TABLE IF NOT EXISTS flow_versions (
    digest TEXT PRIMARY KEY,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS traces_by_outcome ON traces (flow_id, outcome, started);
"""


def open_database(path: Path | str, schema: str = SCHEMA) -> sqlite3.Connection:
    """Open (creating if needed) a database in WAL mode with ``schema`` applied.

    The connection is in autocommit mode (``isolation_level=None``): each statement
    is its own transaction unless ``transaction`` groups several. It may be used from
    more than one thread (``check_same_thread=False``), one at a time; a writer that
    finds the file locked by another connection waits up to five seconds. Pass
    ``schema=""`` for a file whose tables a node package creates itself (through
    ``flowengine.migrations``)."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=5000")
    if schema:
        conn.executescript(schema)
    return conn


@contextmanager
def transaction(db: sqlite3.Connection, *, immediate: bool = False) -> Iterator[None]:
    """Run the ``with`` body as one transaction: committed when the body ends, rolled
    back when it raises anything (``KeyboardInterrupt`` and ``CancelledError`` too) or
    the commit itself fails, so the file never keeps half of it.

    Why a helper: ``sqlite3``'s own transaction handling depends on how the connection
    was opened. With its default ``isolation_level`` it opens a transaction silently
    before an INSERT, UPDATE or DELETE (not before a SELECT or DDL) and ``with db:``
    commits it; on an ``isolation_level=None`` connection (``open_database``'s) there
    is no implicit transaction, so ``with db:`` groups nothing and each statement
    commits alone. This issues ``BEGIN`` itself and works the same on both.

    ``immediate``: ``BEGIN IMMEDIATE`` takes the write lock at the start, waiting out
    the busy timeout if another connection holds it. Use it for a read-then-write
    whose reads decide what is written (another writer cannot slip in between) and
    wherever a second connection may write the same file: a deferred transaction
    that has read and then meets another writer fails at once with "database is
    locked", without waiting (its snapshot is out of date once the other commits).
    The default, ``BEGIN`` (deferred), takes the lock at its first write.

    Nested use is refused (``sqlite3.ProgrammingError``), as is a connection with a
    transaction already open (a write of the default ``isolation_level`` not yet
    committed, or Python 3.12's ``autocommit=False``): joining it would commit or roll
    back someone else's writes with these.
    """
    if db.in_transaction:
        raise sqlite3.ProgrammingError(
            "transaction(): the connection already has a transaction open (nested use, or "
            "an implicit transaction of sqlite3's default isolation_level not yet "
            "committed); commit it first or write inside the one already open"
        )
    db.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
    try:
        yield
        db.commit()
    except BaseException:
        if db.in_transaction:
            db.rollback()
        raise
