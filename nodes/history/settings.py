"""The ``history`` section of site.yaml: how long each table is kept, and the sample gap.

Retention is per table: a duration (``30d``, ``400d``, ``12h``), a bare number of
*days* (unlike other durations, where a number is seconds: ``30`` here must not
mean thirty seconds of history), or null to keep the table forever. The
ledger's tables are not here: the accounting ledger keeps every entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowengine.durations import DURATION_PATTERN, parse_duration

#: Table -> the default retention (None: forever).
DEFAULT_RETENTION: dict[str, str | None] = {
    "telemetry_samples": "30d",  # raw, a row per tick: the roll-ups keep what matters
    "history_30min": "730d",  # two years of slots: the load forecast reads weeks of them
    "history_daily": None,  # a row a day: forever
    "price_issues": "90d",
    "forecast_issues": "90d",
    "input_readings": "90d",  # nodes/inputs keeps every fetched payload whole
    "input_calls": "90d",  # and every call (quotas look back a day)
}
DEFAULT_GAP_AFTER = "15m"

RETENTION: dict[str, Any] = {
    "description": "how long rows are kept: a duration such as 30d, a number of days, "
    "or null for ever",
    "anyOf": [
        {"type": "null"},
        {"type": "number", "minimum": 0},
        {"type": "string", "pattern": DURATION_PATTERN},
    ],
}

SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "The site's own history (docs/history.md): retention per table.",
    "properties": {
        "retention": {
            "type": "object",
            "description": "per table; tables left out keep their defaults",
            "properties": {table: RETENTION for table in DEFAULT_RETENTION},
            "additionalProperties": False,
        },
        "gap_after": {
            "description": "samples further apart than this leave the energy between them "
            "out of the roll-ups (default 15m)",
            "anyOf": [
                {"type": "number", "minimum": 0},
                {"type": "string", "pattern": DURATION_PATTERN},
            ],
        },
    },
    "additionalProperties": False,
}

DEFAULTS: dict[str, Any] = {"retention": dict(DEFAULT_RETENTION), "gap_after": DEFAULT_GAP_AFTER}


def retention_seconds(value: float | str | None) -> float | None:
    """Seconds a retention keeps rows (None: forever); a bare number is days."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return parse_duration(value) * 86400
    return parse_duration(value)


def retentions(settings: Mapping[str, Any]) -> dict[str, float | None]:
    """Each table's retention in seconds: the site's ``history.retention`` over the defaults."""
    section = settings.get("history") or {}
    given = section.get("retention") or {}
    merged = {**DEFAULT_RETENTION, **given}
    return {table: retention_seconds(value) for table, value in merged.items()}


def gap_after_seconds(settings: Mapping[str, Any]) -> float:
    """The site's ``history.gap_after`` in seconds."""
    section = settings.get("history") or {}
    return parse_duration(section.get("gap_after", DEFAULT_GAP_AFTER))
