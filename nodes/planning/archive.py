"""Keeps the last plans with what they were built from, for "why this plan?" later."""

from __future__ import annotations

import sqlite3
from typing import Any, ClassVar

from flowengine import json_dumps
from flowengine.message import Message
from flowengine.node import Node

SCHEMA = """
CREATE TABLE IF NOT EXISTS plans (
    created_at TEXT PRIMARY KEY,
    trigger TEXT NOT NULL,
    objective REAL,
    built_from TEXT NOT NULL,
    plan TEXT NOT NULL
)
"""


class PlanArchive(Node):
    type_name = "planning.archive"
    description = "Stores each new plan and its inputs in SQLite, keeping the last N."
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "connection": {"type": "string", "x-connection": "core.sqlite"},
            "keep": {"default": 48, "type": "integer", "minimum": 1},
        },
        "required": ["connection"],
        "additionalProperties": False,
    }
    takes = "payload = a plan (with built_from, and inputs when the planner keeps them)"
    gives: ClassVar[dict[str, str]] = {"out": "the message, unchanged"}
    _ready = False

    def process(self, msg: Message) -> Message:
        db: sqlite3.Connection = self.ctx.connection(self.config["connection"]).db
        if not self._ready:
            db.execute(SCHEMA)
            self._ready = True
        plan = msg.payload
        built_from = plan.get("built_from", {})
        db.execute(
            "INSERT OR REPLACE INTO plans VALUES (?, ?, ?, ?, ?)",
            (
                plan["created_at"],
                str(msg.meta.get("trigger", "")),
                plan.get("objective"),
                json_dumps(built_from),
                json_dumps(plan),
            ),
        )
        keep = self.config["keep"]
        db.execute(
            "DELETE FROM plans WHERE created_at NOT IN "
            "(SELECT created_at FROM plans ORDER BY created_at DESC LIMIT ?)",
            (keep,),
        )
        return msg
