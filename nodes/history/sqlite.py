"""The history nodes' database: the node's ``core.sqlite`` connection, and one-commit writes."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from flowengine.node import Node


def database(node: Node) -> sqlite3.Connection:
    """The open sqlite3 connection of the node's configured ``core.sqlite`` connection."""
    connection = node.ctx.connection(node.config["connection"])
    db = getattr(connection, "db", None)
    if not isinstance(db, sqlite3.Connection):
        raise RuntimeError(f"connection '{node.config['connection']}' has no open database")
    return db


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
