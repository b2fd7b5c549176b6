"""The site's own history: telemetry recorded in SQLite for the load forecast."""

from nodes.history.node import HistoryRecord
from nodes.history.schema import SCHEMA, SLOT_SECONDS, ensure_schema, slot_start
from nodes.history.store import load_history, record_sample, seed_history

NODE_TYPES = [HistoryRecord]

__all__ = [
    "NODE_TYPES",
    "SCHEMA",
    "SLOT_SECONDS",
    "HistoryRecord",
    "ensure_schema",
    "load_history",
    "record_sample",
    "seed_history",
    "slot_start",
]
