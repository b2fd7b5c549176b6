"""Put intervals of any length onto the plan's slots.

Providers speak in their own intervals (Amber 5 or 30 min, Solcast 30 min,
Open-Meteo hourly). The planner wants one value per slot. A slot gets the
time-weighted mean of what overlaps it, or exactly the value of the one
interval that covers it whole; a slot that nothing covers gets None, so the
caller decides (fill from a fallback, or end the horizon there).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo


def slot_start(now: float, slot_seconds: float, timezone: str) -> float:
    """Start of the slot holding ``now``, aligned on the site's local clock (:00/:30)."""
    offset = datetime.fromtimestamp(now, ZoneInfo(timezone)).utcoffset() or timedelta()
    local = now + offset.total_seconds()
    return now - local % slot_seconds


def align(
    intervals: Sequence[dict[str, Any]],
    field: str,
    start: float,
    slot_seconds: float,
    count: int,
) -> list[float | None]:
    """``field`` per slot from ``start``: exact where one interval covers the slot."""
    exact = _on_the_slots(intervals, (field,), start, slot_seconds, count)
    if exact is not None:
        return exact[field]
    ordered = sorted(
        (float(i["start"]), float(i["end"]), i[field])
        for i in intervals
        if i.get(field) is not None and float(i["end"]) > float(i["start"])
    )
    out: list[float | None] = []
    k = 0
    for n in range(count):
        lo, hi = start + n * slot_seconds, start + (n + 1) * slot_seconds
        while k < len(ordered) and ordered[k][1] <= lo:
            k += 1
        parts: list[tuple[float, float]] = []
        j = k
        while j < len(ordered) and ordered[j][0] < hi:
            a, b, value = ordered[j]
            overlap = min(b, hi) - max(a, lo)
            if overlap > 0:
                parts.append((float(value), overlap))
            j += 1
        covered = sum(w for _, w in parts)
        if covered < slot_seconds - 1e-6:
            out.append(None)
        elif len(parts) == 1:
            out.append(parts[0][0])
        else:
            out.append(sum(v * w for v, w in parts) / covered)
    return out


def align_fields(
    intervals: Sequence[dict[str, Any]],
    fields: Sequence[str],
    start: float,
    slot_seconds: float,
    count: int,
) -> dict[str, list[float | None]]:
    """``align`` for several fields of the same intervals, in one pass where it can."""
    exact = _on_the_slots(intervals, fields, start, slot_seconds, count)
    if exact is not None:
        return exact
    return {f: align(intervals, f, start, slot_seconds, count) for f in fields}


def _on_the_slots(
    intervals: Sequence[dict[str, Any]],
    fields: Sequence[str],
    start: float,
    slot_seconds: float,
    count: int,
) -> dict[str, list[float | None]] | None:
    """The common case, fast: intervals that are exactly the slots (a replay, Solcast, Amber
    at 30 min). None when they are not, so the general way takes over."""
    by_start: dict[float, dict[str, Any]] = {}
    for item in intervals:
        begin = float(item["start"])
        if float(item["end"]) - begin != slot_seconds or (begin - start) % slot_seconds:
            return None
        by_start[begin] = item
    out: dict[str, list[float | None]] = {f: [] for f in fields}
    empty: dict[str, Any] = {}
    for n in range(count):
        item = by_start.get(start + n * slot_seconds, empty)
        for f in fields:
            value = item.get(f)
            out[f].append(None if value is None else float(value))
    return out
