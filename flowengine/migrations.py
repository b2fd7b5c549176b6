"""Versioned schema migrations for a SQLite file that several components share.

Each component (a node package's tables) keeps its own version in
``schema_versions``, so packages upgrade independently. ``migrate`` applies the
versions a database lacks, each in one transaction with its version stamp (a
power cut mid-way leaves the previous version whole), and refuses a database a
newer release wrote: its tables may mean things this code does not know, and
writing to them could corrupt what that release recorded.

A database from before versioning holds the tables of version 1 without a
stamp; version 1's statements are written ``CREATE ... IF NOT EXISTS`` so they
adopt it as it is.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from flowengine.database import transaction

VERSIONS_TABLE = """
CREATE TABLE IF NOT EXISTS schema_versions (
    component TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    description TEXT NOT NULL
)
"""


@dataclass(frozen=True, slots=True)
class Migration:
    """One step: the SQL that takes ``component`` from ``version - 1`` to ``version``."""

    version: int
    sql: str
    description: str


class SchemaTooNew(RuntimeError):
    """The database was written by a newer release than this one."""


def schema_version(db: sqlite3.Connection, component: str) -> int:
    """The version ``component``'s tables are at (0: never stamped)."""
    db.execute(VERSIONS_TABLE)
    row = db.execute(
        "SELECT version FROM schema_versions WHERE component = ?", (component,)
    ).fetchone()
    return int(row[0]) if row else 0


def migrate(db: sqlite3.Connection, component: str, migrations: Sequence[Migration]) -> int:
    """Bring ``component``'s tables up to the newest of ``migrations``; its version after.

    Raises ``SchemaTooNew`` (naming the file's version and ours) for a database
    from a newer release, and leaves it untouched.
    """
    steps = sorted(migrations, key=lambda m: m.version)
    if [m.version for m in steps] != list(range(1, len(steps) + 1)):
        raise ValueError(f"{component}: migrations must be numbered 1, 2, 3... without gaps")
    latest = len(steps)
    current = schema_version(db, component)
    if current > latest:
        raise SchemaTooNew(
            f"the database's {component} tables are at schema version {current}, but this "
            f"release knows versions up to {latest}: it was written by a newer Power Master. "
            "Upgrade Power Master, or point --data-dir at a backup from this release."
        )
    for step in steps[current:]:
        _apply(db, component, step)
    return latest


def _apply(db: sqlite3.Connection, component: str, step: Migration) -> None:
    """One migration and its stamp, all or nothing."""
    statements = [s for s in _statements(step.sql) if s.strip()]
    with transaction(db, immediate=True):
        for statement in statements:
            db.execute(statement)
        db.execute(
            "INSERT INTO schema_versions (component, version, description) VALUES (?, ?, ?) "
            "ON CONFLICT (component) DO UPDATE SET version = excluded.version, "
            "description = excluded.description",
            (component, step.version, step.description),
        )


def _statements(sql: str) -> list[str]:
    """Split a script into whole statements (``sqlite3.complete_statement`` knows where
    a ``;`` inside a string or trigger body does not end one)."""
    statements, current = [], ""
    for line in sql.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current)
            current = ""
    if current.strip():
        statements.append(current)
    return statements
