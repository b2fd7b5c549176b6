"""``transaction``: all or nothing on a real WAL file, the write lock when asked for, and
no silent nesting. A second connection to the same file stands in for another writer
(the ledger in a second process); its busy timeout is zero, so a lock shows at once."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from flowengine import open_database, transaction

SCHEMA = "CREATE TABLE IF NOT EXISTS rows (x INTEGER PRIMARY KEY)"


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "site.db"


@pytest.fixture
def db(path: Path) -> Iterator[sqlite3.Connection]:
    with closing(open_database(path, schema=SCHEMA)) as conn:
        yield conn


@pytest.fixture
def other(path: Path, db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    with closing(open_database(path, schema="")) as conn:
        conn.execute("PRAGMA busy_timeout=0")
        yield conn


def rows(conn: sqlite3.Connection) -> list[int]:
    return [x for (x,) in conn.execute("SELECT x FROM rows ORDER BY x")]


def test_the_body_commits_as_one_and_others_see_it_only_then(
    db: sqlite3.Connection, other: sqlite3.Connection
) -> None:
    with transaction(db):
        db.executemany("INSERT INTO rows VALUES (?)", [(1,), (2,)])
        assert db.in_transaction
        assert rows(other) == []  # a reader is not blocked, and sees none of it yet
    assert not db.in_transaction
    assert rows(other) == [1, 2]


@pytest.mark.parametrize("error", [ValueError("bad row"), asyncio.CancelledError()])
def test_any_exception_rolls_the_whole_body_back_and_is_raised(
    db: sqlite3.Connection, error: BaseException
) -> None:
    with pytest.raises(type(error)), transaction(db):
        db.execute("INSERT INTO rows VALUES (1)")
        db.execute("INSERT INTO rows VALUES (2)")
        raise error
    assert not db.in_transaction
    assert rows(db) == []
    with transaction(db):  # and the connection is fit for the next one
        db.execute("INSERT INTO rows VALUES (3)")
    assert rows(db) == [3]


def test_a_failed_commit_rolls_back_rather_than_leaving_the_transaction_open(
    tmp_path: Path,
) -> None:
    """A deferred foreign key is checked at COMMIT; SQLite keeps the transaction open when
    the commit fails, so the helper must end it."""
    schema = (
        "PRAGMA foreign_keys=ON;"
        "CREATE TABLE parents (id INTEGER PRIMARY KEY);"
        "CREATE TABLE children (parent REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED);"
    )
    with closing(open_database(tmp_path / "fk.db", schema=schema)) as db:
        with pytest.raises(sqlite3.IntegrityError), transaction(db):
            db.execute("INSERT INTO children VALUES (7)")  # no parent 7
        assert not db.in_transaction
        assert db.execute("SELECT COUNT(*) FROM children").fetchone() == (0,)


def test_immediate_holds_the_write_lock_from_the_start(
    db: sqlite3.Connection, other: sqlite3.Connection
) -> None:
    with transaction(db, immediate=True):
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            other.execute("INSERT INTO rows VALUES (1)")  # before this one has written
        assert rows(other) == []  # reading is still free
        db.execute("INSERT INTO rows VALUES (2)")
    other.execute("INSERT INTO rows VALUES (3)")  # released at the commit
    assert rows(other) == [2, 3]


def test_deferred_takes_the_lock_late_and_loses_a_read_then_write_race(
    db: sqlite3.Connection, other: sqlite3.Connection
) -> None:
    """Why the ledger and the migrations ask for ``immediate``: a deferred transaction that
    has read, then meets another connection's write, cannot write on what it read. It
    fails at once (its own five-second busy timeout does not help) and is rolled back."""
    with pytest.raises(sqlite3.OperationalError, match="database is locked"), transaction(db):
        assert rows(db) == []
        other.execute("INSERT INTO rows VALUES (1)")  # the lock was free: not taken yet
        db.execute("INSERT INTO rows VALUES (2)")  # what it read is out of date
    assert not db.in_transaction
    assert rows(db) == [1]


def test_nested_use_is_refused_and_the_outer_transaction_carries_on(
    db: sqlite3.Connection,
) -> None:
    with transaction(db):
        db.execute("INSERT INTO rows VALUES (1)")
        with (
            pytest.raises(sqlite3.ProgrammingError, match="already has a transaction open"),
            transaction(db),
        ):
            db.execute("INSERT INTO rows VALUES (2)")  # never runs
        db.execute("INSERT INTO rows VALUES (3)")
    assert rows(db) == [1, 3]


def test_a_connection_with_sqlites_implicit_transactions_works_the_same(path: Path) -> None:
    """sqlite3's default ``isolation_level`` opens a transaction before an INSERT on its own;
    the helper's explicit BEGIN keeps the body one transaction there too, and a pending
    implicit one (someone else's uncommitted write) is refused, not committed with it."""
    open_database(path, schema=SCHEMA).close()
    with closing(sqlite3.connect(path)) as legacy:
        # typeshed's literal omits "", sqlite3's default (an alias for DEFERRED)
        assert legacy.isolation_level == ""  # type: ignore[comparison-overlap]
        with pytest.raises(ValueError), transaction(legacy):
            legacy.execute("INSERT INTO rows VALUES (1)")
            raise ValueError
        assert rows(legacy) == []
        with transaction(legacy):
            legacy.execute("INSERT INTO rows VALUES (2)")
        assert not legacy.in_transaction
        legacy.execute("INSERT INTO rows VALUES (3)")  # an implicit transaction, left open
        with pytest.raises(sqlite3.ProgrammingError), transaction(legacy):
            pass
        legacy.rollback()
        assert rows(legacy) == [2]
