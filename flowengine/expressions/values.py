"""What comes out of an expression, made plain: times as epochs or ISO 8601 text,
durations as seconds, everything as JSON data."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flowengine.expressions.errors import ExpressionError


def to_epoch(value: Any) -> float:
    """Epoch seconds from a datetime, an ISO 8601 text or a number of seconds."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a time")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a time")
        return float(value)
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    if isinstance(value, str):
        try:
            return to_epoch(datetime.fromisoformat(value.strip()))
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a time: give a datetime, ISO 8601 text or epoch seconds")


def plain(value: Any) -> Any:
    """A result as JSON data: datetimes as ISO 8601 text, durations as seconds."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        raise ExpressionError(f"{value!r} is not a number JSON can hold")
    return value
