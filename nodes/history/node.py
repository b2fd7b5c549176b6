"""The ``history.record`` node: keeps the site's own telemetry for forecasting."""

from __future__ import annotations

import sqlite3
from typing import Any, ClassVar

from flowengine.message import Message
from flowengine.node import Node
from nodes.history.schema import ensure_schema
from nodes.history.store import record_sample, sample_values


def database(node: Node) -> sqlite3.Connection:
    """The open sqlite3 connection of the node's configured ``core.sqlite`` connection."""
    connection = node.ctx.connection(node.config["connection"])
    db = getattr(connection, "db", None)
    if not isinstance(db, sqlite3.Connection):
        raise RuntimeError(f"connection '{node.config['connection']}' has no open database")
    return db


class HistoryRecord(Node):
    type_name = "history.record"
    description = (
        "Records each telemetry sample (raw, and as 30-minute means) in SQLite, "
        "so the load forecast can learn this site's habits."
    )
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"connection": {"type": "string", "x-connection": "core.sqlite"}},
        "required": ["connection"],
        "additionalProperties": False,
    }
    takes = (
        "telemetry payload {timestamp, soc, pv_w, load_w, battery_w, grid_w} "
        "(load is derived from the balance when absent)"
    )
    gives: ClassVar[dict[str, str]] = {"out": "the message, unchanged"}

    async def start(self) -> None:
        ensure_schema(database(self))

    def process(self, msg: Message) -> Message:
        payload = msg.payload
        if not isinstance(payload, dict):
            raise ValueError(f"history.record needs a telemetry dict, got {type(payload).__name__}")
        timestamp = payload.get("timestamp")
        if isinstance(timestamp, bool) or not isinstance(timestamp, int | float):
            timestamp = self.ctx.clock.time()
        values = sample_values(payload)
        added = record_sample(database(self), float(timestamp), values)
        load = values["load_w"]
        load_text = "no load" if load is None else f"load {load:.0f} W"
        self.ctx.status(load_text if added else "sample already recorded")
        return msg
