"""Times of day and days of the week as the site config writes them (``"22:00"``,
``weekdays``), and the site's time zone.

Control's weekly schedule, the loads' run windows and the planner's SOC targets all
read them. They live here, below all three, so none need import another for them:
the planner imports the loads and control imports the planner, which would close a cycle.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MINUTES_PER_DAY = 24 * 60
#: Day names as the site config writes them, Monday first (index = ``datetime.weekday()``).
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_GROUPS = {"all": DAYS, "weekdays": DAYS[:5], "weekends": DAYS[5:]}
#: Every spelling ``parse_days`` accepts (for a schema's enum).
DAY_NAMES = (*DAYS, *DAY_GROUPS)


def parse_minute(text: str) -> int:
    """The minute of the day ``"HH:MM"`` names (``"24:00"`` is 1440, the next midnight)."""
    hours, _, minutes = str(text).partition(":")
    value = int(hours) * 60 + int(minutes or 0)
    if not 0 <= value <= MINUTES_PER_DAY:
        raise ValueError(f"{text!r} is not a time of day (HH:MM)")
    return value


def parse_days(value: str | Iterable[str]) -> frozenset[int]:
    """The weekdays (0 = Monday) that ``mon`` .. ``sun``, ``all``, ``weekdays`` or
    ``weekends``, or a list of them, name."""
    names = [value] if isinstance(value, str) else list(value)
    days: set[int] = set()
    for name in names:
        key = str(name).strip().lower()
        group = DAY_GROUPS.get(key, (key,))
        for day in group:
            if day not in DAYS:
                raise ValueError(f"unknown day {name!r} (use mon..sun, all, weekdays, weekends)")
            days.add(DAYS.index(day))
    return frozenset(days)


def covers(days: frozenset[int], start_min: int, end_min: int, weekday: int, minute: int) -> bool:
    """Whether minute ``minute`` of day ``weekday`` (0 = Monday) falls in the window from
    ``start_min`` to ``end_min`` on ``days``; a window whose end is not after its start
    runs past midnight and belongs to the day it starts on (``from == to``: a whole day)."""
    if start_min < end_min:
        return weekday in days and start_min <= minute < end_min
    # Past midnight: the evening part of a listed day, or the morning after one.
    if weekday in days and minute >= start_min:
        return True
    return (weekday - 1) % 7 in days and minute < end_min


def parse_moment(value: object, zone: tzinfo) -> float:
    """Epoch seconds from ISO 8601 text (``2026-12-08T16:00``: wall time in ``zone``
    unless it gives an offset) or a number of epoch seconds; ValueError otherwise."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a time")
        return float(value)
    if isinstance(value, str):
        try:
            at = datetime.fromisoformat(value.strip())
        except ValueError:
            pass
        else:
            return (at if at.tzinfo is not None else at.replace(tzinfo=zone)).timestamp()
    raise ValueError(
        f"{value!r} is not a time: give ISO 8601 (2026-12-08T16:00, the site's wall time "
        "unless it has an offset) or epoch seconds"
    )


def site_zone(name: str) -> tzinfo:
    """The IANA zone ``name``; UTC when it is unknown (the config check reports it)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC
