"""``ledger.settle``: the retailer's meter data settles the ledger's provisional entries."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any, ClassVar

from flowengine.message import Message
from flowengine.node import Node
from nodes.core.connections import node_database
from nodes.ledger.settlement import ledger_start, settle
from nodes.ledger.store import ensure_schema, load_state


class LedgerSettle(Node):
    type_name = "ledger.settle"
    description = (
        "Settles each metered slot once: the ledger's cash entries for the slot then add up "
        "to what the retailer's meter billed (docs/ledger.md)."
    )
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"connection": {"type": "string", "x-connection": "core.sqlite"}},
        "required": ["connection"],
        "additionalProperties": False,
    }
    takes = "a usage reading {kind: usage, data: {intervals: [...]}} (inputs.usage), or null"
    gives: ClassVar[dict[str, str]] = {"out": "payload {settled: entries posted, through}"}

    async def start(self) -> None:
        ensure_schema(self._db())

    def _db(self) -> sqlite3.Connection:
        return node_database(self)

    def process(self, msg: Message) -> Message:
        reading = msg.payload
        data = reading.get("data") if isinstance(reading, Mapping) else None
        intervals = data.get("intervals") if isinstance(data, Mapping) else None
        if reading is not None and not isinstance(intervals, list):
            raise ValueError("ledger.settle needs a usage reading with data.intervals")
        db = self._db()
        state = load_state(db)
        last = state.get("last")
        through = float(last["at"]) if isinstance(last, Mapping) else None
        posted = 0
        if intervals and through is not None:
            posted = settle(db, intervals, ledger_start(db, state), through)
        self.ctx.status(
            f"posted {posted} settlement entries" if posted else "nothing to settle",
            "ok" if posted else "idle",
        )
        msg.payload = {"settled": posted, "through": through}
        return msg
