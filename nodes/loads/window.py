"""When a load may run, and the day its run time counts in, in the site's wall time.

A window ``{from: "22:00", to: "06:00"}`` is local wall-clock time; a ``to`` not
after its ``from`` runs past midnight (``from == to`` is a whole day from
``from``), as in ``control.schedule``. A load's run time is counted per *run
day*: from local midnight, or, for a window that runs past midnight, from the
window's start, so one night's run (22:00-06:00) counts as one run and is not
cut in two at midnight. Times are computed on the wall clock of ``zone``, so a
day with a daylight-saving change is 23 or 25 hours long, as people live it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from nodes.core.wallclock import MINUTES_PER_DAY, parse_minute

__all__ = ["MINUTES_PER_DAY", "Window", "clock_text", "local_time", "parse_minute"]


@dataclass(frozen=True, slots=True)
class Window:
    """Local minutes of the day: ``start_min`` included, ``end_min`` excluded."""

    start_min: int
    end_min: int

    @classmethod
    def parse(cls, start: str, end: str) -> Window:
        first, last = parse_minute(start), parse_minute(end)
        return cls(first % MINUTES_PER_DAY, last)

    @property
    def wraps(self) -> bool:
        """Runs past midnight (or is a whole day from ``start_min``)."""
        return self.end_min <= self.start_min

    @property
    def minutes(self) -> int:
        return self.end_min - self.start_min + (MINUTES_PER_DAY if self.wraps else 0)

    def covers(self, now: float, zone: tzinfo) -> bool:
        local = datetime.fromtimestamp(now, zone)
        minute = local.hour * 60 + local.minute + local.second / 60
        if not self.wraps:
            return self.start_min <= minute < self.end_min
        return minute >= self.start_min or minute < self.end_min

    def __str__(self) -> str:
        return f"{clock_text(self.start_min)}-{clock_text(self.end_min)}"


def day_start_minute(window: Window | None) -> int:
    """Where a load's run day begins: midnight, or the start of a window past midnight."""
    return window.start_min if window is not None and window.wraps else 0


def local_time(day: date, minute: int, zone: tzinfo) -> float:
    """Epoch of wall-clock ``minute`` (may be 1440: the next midnight) on ``day`` in ``zone``."""
    midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
    return (midnight + timedelta(minutes=minute)).timestamp()  # wall-clock arithmetic


def run_day_start(now: float, zone: tzinfo, minute: int) -> float:
    """The latest wall-clock ``minute`` of a day at or before ``now``: this run day's start."""
    today = datetime.fromtimestamp(now, zone).date()
    start = local_time(today, minute, zone)
    return start if start <= now else local_time(today - timedelta(days=1), minute, zone)


def occurrence(window: Window | None, day_start: float, zone: tzinfo) -> tuple[float, float]:
    """The (start, end) epochs of ``window`` in the run day beginning at ``day_start``."""
    day = datetime.fromtimestamp(day_start, zone).date()
    if window is None:
        return day_start, local_time(day + timedelta(days=1), day_start_minute(None), zone)
    end_day = day + timedelta(days=1) if window.wraps else day
    return local_time(day, window.start_min, zone), local_time(end_day, window.end_min, zone)


def next_run_day(day_start: float, window: Window | None, zone: tzinfo) -> float:
    day = datetime.fromtimestamp(day_start, zone).date() + timedelta(days=1)
    return local_time(day, day_start_minute(window), zone)


def clock_text(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def local_clock(at: float, zone: tzinfo) -> str:
    """``at`` as HH:MM on the site's wall clock, for reasons people read."""
    return datetime.fromtimestamp(at, zone).strftime("%H:%M")
