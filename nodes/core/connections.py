"""Shared connections every domain needs: an HTTP session and a SQLite database."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, ClassVar

import aiohttp

from flowengine import open_database
from flowengine.node import Connection, Node


class HttpSession(Connection):
    """One aiohttp session (connection pool, cookies) shared by HTTP nodes."""

    type_name = "core.http"
    description = "A shared HTTP client session with a default timeout."
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "timeout_s": {"type": "number", "exclusiveMinimum": 0},
            "user_agent": {"type": "string"},
        },
        "additionalProperties": False,
    }
    session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        timeout = aiohttp.ClientTimeout(total=self.config.get("timeout_s", 20))
        headers = {"User-Agent": self.config.get("user_agent", "power-master")}
        self.session = aiohttp.ClientSession(timeout=timeout, headers=headers)

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None


class SqliteDatabase(Connection):
    """A SQLite file in WAL mode, shared by the nodes that keep records in it."""

    type_name = "core.sqlite"
    description = "A shared SQLite database file (WAL mode), relative to the data directory."
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"file": {"type": "string"}},
        "additionalProperties": False,
    }
    db: sqlite3.Connection | None = None
    #: The file, once open: a reader in another thread opens a connection of its own to it.
    path: Path | None = None

    async def open(self) -> None:
        self.path = self.data_dir / self.config.get("file", "site.db")
        self.db = open_database(self.path, schema="")

    async def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None


def node_database(node: Node) -> sqlite3.Connection:
    """The open sqlite3 connection of a node's ``connection`` (a ``core.sqlite``): what the
    history, forecast and ledger nodes keep their tables in."""
    connection = node.ctx.connection(node.config["connection"])
    db = getattr(connection, "db", None)
    if not isinstance(db, sqlite3.Connection):
        raise RuntimeError(f"connection '{node.config['connection']}' has no open database")
    return db
