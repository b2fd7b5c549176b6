"""When to spend a small daily API quota: local fetch times that fit it, best first.

Solcast's free tier allows 10 calls per UTC day (some legacy accounts 50), and
every rooftop site costs a call of its own. A fresh forecast is worth most just
before the plans that lean on it:

- 05:00, before sunrise and the morning plan: the first look at the whole day's
  solar decides whether to buy from the grid before the sun is up;
- 15:00, before the evening plan: how full the battery will be for the evening
  peak, and what tomorrow looks like for the night;
- then across the morning and afternoon (09:00, 11:00, 07:00, 13:00, 17:00), as
  cloud moves in or clears.

``fetch_times`` takes that list as far as the budget goes. One site on the free
10 calls gets nine times (05:00 07:00 09:00 10:00 11:00 13:00 14:00 15:00 17:00)
and keeps one call spare; two sites get five each (05:00 07:00 09:00 11:00
15:00); a 50-call account fetches every half-hour from 05:00 to 17:30. Times are
on the half-hour grid and never closer together: forecast periods are
half-hours, so fetching more often buys nothing. A tenth of each site's calls
(rounded down) is kept back, so a fetch that failed can be tried again without
starving a later time.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

DAY_S = 86400.0

#: Local fetch times, most valuable first; a budget of n calls a day takes the first n.
PRIORITY: tuple[time, ...] = (
    # before the morning plan, before the evening plan, then through the day
    time(5),
    time(15),
    time(9),
    time(11),
    time(7),
    time(13),
    time(17),
    # hourly over daylight
    time(10),
    time(14),
    time(8),
    time(12),
    time(16),
    time(6),
    # every half-hour over daylight, the middle of the day first
    time(9, 30),
    time(10, 30),
    time(11, 30),
    time(12, 30),
    time(13, 30),
    time(14, 30),
    time(8, 30),
    time(15, 30),
    time(7, 30),
    time(16, 30),
    time(6, 30),
    time(5, 30),
    time(17, 30),
)


def fetch_times(daily_limit: int, sites: int = 1) -> list[time]:
    """Local times of day to fetch at, sorted: as many as ``daily_limit`` allows for ``sites``.

    Each fetch costs one call per site, so each site's share is
    ``daily_limit // sites``; a tenth of it (rounded down) is kept spare for retries.
    """
    if sites < 1:
        raise ValueError(f"need at least one site, got {sites}")
    if daily_limit < 0:
        raise ValueError(f"daily_limit cannot be negative, got {daily_limit}")
    per_site = daily_limit // sites
    fetches = per_site - per_site // 10
    return sorted(PRIORITY[:fetches])


def parse_times(values: list[str]) -> list[time]:
    """``["05:00", "15:30"]`` as sorted times; ValueError naming the one that is not HH:MM."""
    parsed = []
    for value in values:
        try:
            parsed.append(time.fromisoformat(value))
        except ValueError:
            raise ValueError(f"fetch time {value!r} is not HH:MM") from None
    return sorted(set(parsed))


def occurrences(times: list[time], zone: ZoneInfo, start: float, end: float) -> list[float]:
    """Epoch seconds of every local ``times`` moment in ``[start, end)``, in order."""
    first = datetime.fromtimestamp(start, zone).date() - timedelta(days=1)
    last = datetime.fromtimestamp(end, zone).date() + timedelta(days=1)
    moments = []
    day = first
    while day <= last:
        for at in times:
            moment = datetime.combine(day, at, zone).timestamp()
            if start <= moment < end:
                moments.append(moment)
        day += timedelta(days=1)
    return sorted(moments)


def latest(times: list[time], zone: ZoneInfo, now: float) -> float | None:
    """The last scheduled moment at or before ``now`` (None when there are no times)."""
    moments = [m for m in occurrences(times, zone, now - 2 * DAY_S, now + DAY_S) if m <= now]
    return moments[-1] if moments else None


def utc_day_start(now: float) -> float:
    """00:00 UTC of ``now``'s day: when Solcast's count starts again."""
    return now - now % DAY_S
