"""The ``history.prune`` node: each table's rows past its retention, in small batches."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from flowengine.message import Message
from flowengine.node import Node
from nodes.core.connections import node_database as database
from nodes.history.retention import (
    DEFAULT_BATCH,
    DEFAULT_MAX_ROWS,
    cutoff,
    prune_batch,
)
from nodes.history.schema import ensure_schema
from nodes.history.settings import retentions


class HistoryPrune(Node):
    type_name = "history.prune"
    description = (
        "Deletes history rows older than each table's retention (history.retention in "
        "site.yaml), a small batch at a time, by the engine's clock."
    )
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "connection": {"type": "string", "x-connection": "core.sqlite"},
            "batch": {
                "type": "integer",
                "minimum": 1,
                "default": DEFAULT_BATCH,
                "description": "rows per transaction",
            },
            "max_rows": {
                "type": "integer",
                "minimum": 1,
                "default": DEFAULT_MAX_ROWS,
                "description": "rows per table per run at most; the rest go next run",
            },
        },
        "required": ["connection"],
        "additionalProperties": False,
    }
    takes = "any message (a trigger)"
    gives: ClassVar[dict[str, str]] = {"out": "payload {table: rows deleted}"}

    async def start(self) -> None:
        ensure_schema(database(self))

    async def process(self, msg: Message) -> Message:
        db = database(self)
        batch = int(self.config["batch"])
        limit = int(self.config["max_rows"])
        now = self.ctx.clock.time()
        deleted: dict[str, int] = {}
        for table, keep_s in retentions(self.ctx.settings).items():
            if keep_s is None:
                continue
            before, gone = cutoff(table, now, keep_s), 0
            while gone < limit:
                n = prune_batch(db, table, before, min(batch, limit - gone))
                gone += n
                if n < batch:
                    break
                await asyncio.sleep(0)  # let other flows at the database between batches
            deleted[table] = gone
        total = sum(deleted.values())
        self.ctx.status(f"pruned {total} rows" if total else "nothing past its retention")
        msg.payload = deleted
        return msg
