"""Bands and seasons read from a schema-valid ``tariff:`` section, and where they fall.

A band covers minutes of a week (Monday 00:00 is minute 0), in local wall time;
a season covers days of the year as (month, day). Both remember the path of the
config they came from, so a problem can point at it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from nodes.tariff.schema import DAY_NAMES

MINUTES_PER_DAY = 1440
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
DAY_GROUPS: dict[str, tuple[int, ...]] = {
    "all": tuple(range(7)),
    "weekdays": (0, 1, 2, 3, 4),
    "weekends": (5, 6),
}
#: Every (month, day) of a leap year: the days a season can hold.
YEAR_DAYS: tuple[tuple[int, int], ...] = tuple(
    (day.month, day.day) for day in (date(2024, 1, 1) + timedelta(days=i) for i in range(366))
)

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class TariffProblem:
    """One thing wrong with a tariff, at a path into the site config."""

    path: Path
    message: str

    def __str__(self) -> str:
        return f"{where(self.path)}: {self.message}"


def where(path: Path) -> str:
    """``("tariff", "seasons", "summer", "import", 1)`` as ``tariff.seasons.summer.import[1]``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def minute_of_day(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def days_of(value: str | Sequence[str]) -> tuple[int, ...]:
    if isinstance(value, str):
        return DAY_GROUPS.get(value) or (DAY_NAMES.index(value),)
    return tuple(sorted(DAY_NAMES.index(day) for day in value))


def describe_days(days: Sequence[int]) -> str:
    chosen = tuple(sorted(set(days)))
    for group, members in (("every day", DAY_GROUPS["all"]), *DAY_GROUPS.items()):
        if chosen == members:
            return group
    return ", ".join(DAY_NAMES[d] for d in chosen)


@dataclass(frozen=True)
class Band:
    """One price over a daily window; ``end`` <= ``start`` means it runs past midnight."""

    path: Path
    name: str | None
    price: float
    start: int  # minute of the day, 0..1439
    end: int  # minute of the day, 1..1440
    days: tuple[int, ...]
    season: str | None = None

    @property
    def empty(self) -> bool:
        return self.start == self.end

    @property
    def wraps(self) -> bool:
        return self.end < self.start

    @property
    def length(self) -> int:
        return self.end - self.start if self.end > self.start else self.end + 1440 - self.start

    def week_minutes(self) -> Iterator[int]:
        """Each minute of the week this band prices (a Sunday-night band wraps to Monday)."""
        if self.empty:
            return
        for day in self.days:
            first = day * MINUTES_PER_DAY + self.start
            for minute in range(first, first + self.length):
                yield minute % MINUTES_PER_WEEK

    def describe(self) -> str:
        if self.length == MINUTES_PER_DAY and len(self.days) == 7 and self.name is None:
            return f"flat ${self.price:g}/kWh"
        label = f"{self.name} " if self.name else ""
        window = f"{hhmm(self.start)}-{hhmm(self.end)}"
        if self.wraps:
            window += f" (runs past midnight to {hhmm(self.end)} the next day)"
        return f"{label}{window} {describe_days(self.days)}, ${self.price:g}/kWh"


@dataclass(frozen=True)
class Season:
    """A named range of days of the year, both ends included; first > last wraps new year."""

    path: Path
    name: str
    first: tuple[int, int]
    last: tuple[int, int]

    def __contains__(self, day: tuple[int, int]) -> bool:
        # 02-28 as a last day means the end of February, so 29 February is not left out.
        last = (2, 29) if self.last == (2, 28) else self.last
        if self.first <= last:
            return self.first <= day <= last
        return day >= self.first or day <= last

    def describe(self) -> str:
        return f"{self.name} ({month_day(self.first)} to {month_day(self.last)})"


def month_day(day: tuple[int, int]) -> str:
    return f"{day[0]:02d}-{day[1]:02d}"


def parse_month_day(text: str) -> tuple[int, int] | None:
    """(month, day), or None when no year has that day (02-30, 04-31)."""
    month, day = (int(part) for part in text.split("-"))
    return (month, day) if (month, day) in YEAR_DAYS else None


def flat_band(path: Path, price: float, season: str | None) -> Band:
    return Band(path, None, float(price), 0, MINUTES_PER_DAY, DAY_GROUPS["all"], season)


def read_bands(
    value: Any, path: Path, season: str | None, default_name: str | None = None
) -> list[Band]:
    """The bands of an ``import``/``export`` value: a list of windows, or one flat price."""
    if value is None:
        return []
    if isinstance(value, int | float):
        return [flat_band(path, value, season)]
    return [
        Band(
            (*path, index),
            raw.get("name", default_name),
            float(raw["price"]),
            minute_of_day(raw["from"]),
            minute_of_day(raw["to"]),
            days_of(raw.get("days", "all")),
            season,
        )
        for index, raw in enumerate(value)
    ]


def read_seasons(section: Mapping[str, Any]) -> tuple[list[Season], list[TariffProblem]]:
    """The seasons with valid dates, and a problem for each date no year has."""
    seasons: list[Season] = []
    problems: list[TariffProblem] = []
    for name, raw in (section.get("seasons") or {}).items():
        path: Path = ("tariff", "seasons", name)
        ends = {}
        for key in ("from", "to"):
            ends[key] = parse_month_day(raw[key])
            if ends[key] is None:
                problems.append(
                    TariffProblem((*path, key), f"{raw[key]} is not a day of the year (MM-DD)")
                )
        first, last = ends["from"], ends["to"]
        if first is not None and last is not None:
            seasons.append(Season(path, name, first, last))
    return seasons, problems
