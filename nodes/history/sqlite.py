"""The history tables' one-commit writes."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[None]:
    """One atomic write (one fsync on the SD card), whether or not the connection is in
    autocommit mode."""
    if not db.in_transaction:
        db.execute("BEGIN")
    try:
        yield
    except BaseException:
        db.rollback()
        raise
    db.commit()
