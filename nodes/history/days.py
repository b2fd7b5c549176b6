"""The site's local days: a day runs from local midnight to the next, 23 to 25 hours long."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo


def local_date(timestamp: float, zone: ZoneInfo) -> date:
    """The site's calendar date at ``timestamp`` (UTC epoch seconds)."""
    return datetime.fromtimestamp(timestamp, UTC).astimezone(zone).date()


def day_bounds(day: date, zone: ZoneInfo) -> tuple[int, int]:
    """UTC epochs of ``day``'s local midnight and the next one (the day is ``[start, end)``)."""
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    following = day + timedelta(days=1)
    end = datetime(following.year, following.month, following.day, tzinfo=zone)
    return int(start.timestamp()), int(end.timestamp())


def dates_between(first: float, last: float, zone: ZoneInfo) -> list[date]:
    """Every local date from the one holding ``first`` to the one holding ``last``."""
    day, final = local_date(first, zone), local_date(last, zone)
    days = []
    while day <= final:
        days.append(day)
        day += timedelta(days=1)
    return days
