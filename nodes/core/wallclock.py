"""Times of day as the site config writes them (``"22:00"``), and the site's time zone.

Control's weekly schedule and the loads' run windows both read them. They live
here, below both, so the loads package need not import control for them: the
planner imports the loads and control imports the planner, which would close a cycle.
"""

from __future__ import annotations

from datetime import UTC, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MINUTES_PER_DAY = 24 * 60


def parse_minute(text: str) -> int:
    """The minute of the day ``"HH:MM"`` names (``"24:00"`` is 1440, the next midnight)."""
    hours, _, minutes = str(text).partition(":")
    value = int(hours) * 60 + int(minutes or 0)
    if not 0 <= value <= MINUTES_PER_DAY:
        raise ValueError(f"{text!r} is not a time of day (HH:MM)")
    return value


def site_zone(name: str) -> tzinfo:
    """The IANA zone ``name``; UTC when it is unknown (the config check reports it)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC
