"""The site's own history: telemetry with its 30-minute and daily roll-ups, prices and
forecasts by issue time, and their retention (docs/history.md)."""

from typing import Any

from flowengine.registry import Declared
from flowengine.settings import sections_from
from nodes.history import settings
from nodes.history.issues import forecast_believed_at, prices_believed_at
from nodes.history.prune import HistoryPrune
from nodes.history.record import HistoryRecord
from nodes.history.record_inputs import HistoryRecordForecast, HistoryRecordPrices
from nodes.history.schema import SCHEMA, SLOT_SECONDS, ensure_schema, slot_start
from nodes.history.store import load_history, record_sample, seed_history

NODE_TYPES: list[Declared] = [
    HistoryRecord,
    HistoryRecordPrices,
    HistoryRecordForecast,
    HistoryPrune,
]

#: The ``history`` section of site.yaml, for powermaster/config.py to splice in.
SETTINGS_SCHEMA: dict[str, dict[str, Any]] = {"history": settings.SCHEMA}
SETTINGS_DEFAULTS: dict[str, dict[str, Any]] = {"history": settings.DEFAULTS}

NODE_TYPES += sections_from(SETTINGS_SCHEMA, SETTINGS_DEFAULTS, {}, owner=__name__)

__all__ = [
    "NODE_TYPES",
    "SCHEMA",
    "SETTINGS_DEFAULTS",
    "SETTINGS_SCHEMA",
    "SLOT_SECONDS",
    "HistoryPrune",
    "HistoryRecord",
    "HistoryRecordForecast",
    "HistoryRecordPrices",
    "ensure_schema",
    "forecast_believed_at",
    "load_history",
    "prices_believed_at",
    "record_sample",
    "seed_history",
    "slot_start",
]
