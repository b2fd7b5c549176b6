"""Durations as people write them in YAML: ``300``, ``"30s"``, ``"5m"``, ``"1h30m"``."""

from __future__ import annotations

import re

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
DURATION_PATTERN = r"^\s*(\d+(\.\d+)?\s*(ms|s|m|h|d)\s*)+$"


def parse_duration(value: float | int | str) -> float:
    """Seconds in ``value``; raises ``ValueError`` with the reason."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"a duration cannot be negative ({value})")
        return float(value)
    text = value.strip()
    if not re.fullmatch(DURATION_PATTERN, text):
        raise ValueError(f"'{value}' is not a duration; write e.g. 30s, 5m, 1h30m or 300")
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in _PART.findall(text))
