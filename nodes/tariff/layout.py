"""Which band prices each minute of the week, in each season, and what is wrong with it.

The all-year bands and a season's own bands together must give every minute of
every day exactly one import price and one feed-in price. Building that
minute-of-the-week table is also the check: a minute with two bands is an
overlap, a minute with none a gap, each reported at the config path that
causes it, with the days and times where it happens.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from nodes.tariff.bands import (
    MINUTES_PER_DAY,
    MINUTES_PER_WEEK,
    YEAR_DAYS,
    Band,
    Path,
    Season,
    TariffProblem,
    describe_days,
    flat_band,
    hhmm,
    month_day,
    read_bands,
    read_seasons,
    where,
)

#: One entry per minute of the week (Monday 00:00 first): the band pricing it.
WeekTable = tuple[Band, ...]


@dataclass(frozen=True)
class Layout:
    """The season of each day of the year, and per season (None: outside any) the tables."""

    season_of: Mapping[tuple[int, int], str | None]
    imports: Mapping[str | None, WeekTable]
    exports: Mapping[str | None, WeekTable]


@dataclass(frozen=True)
class _Context:
    """The bands in force on some days: outside any season, or in one season."""

    season: str | None
    label: str  # " in season summer (12-01 to 02-28)", " outside any season (...)" or ""
    imports: list[Band]
    exports: list[Band]
    import_path: Path  # where a gap is reported
    export_path: Path


def build_layout(section: Mapping[str, Any]) -> tuple[Layout | None, list[TariffProblem]]:
    """The layout of a schema-valid section, or None and every problem found."""
    seasons, problems = read_seasons(section)
    problems += _season_overlaps(seasons)
    season_of = {day: next((s.name for s in seasons if day in s), None) for day in YEAR_DAYS}
    contexts = _contexts(section, seasons, season_of)
    everything = {b.path: b for c in contexts for b in (*c.imports, *c.exports)}
    problems += [
        TariffProblem(
            b.path,
            f"from and to are both {hhmm(b.start)}, so the band is empty "
            "(00:00 to 24:00 is all day)",
        )
        for b in everything.values()
        if b.empty
    ]
    imports: dict[str | None, WeekTable] = {}
    exports: dict[str | None, WeekTable] = {}
    reported: set[tuple[Path, Path]] = set()
    for context in contexts:
        for kind, bands, gap_path, tables in (
            ("import", context.imports, context.import_path, imports),
            ("feed-in", context.exports, context.export_path, exports),
        ):
            table, found = _week_table(kind, bands, gap_path, context.label, reported)
            problems += found
            if table is not None:
                tables[context.season] = table
    if problems:
        return None, problems
    return Layout(season_of, imports, exports), []


def _contexts(
    section: Mapping[str, Any], seasons: Sequence[Season], season_of: Mapping[Any, str | None]
) -> list[_Context]:
    raw_seasons = section.get("seasons") or {}
    all_year_imports = read_bands(section.get("import"), ("tariff", "import"), None)
    all_year_exports = read_bands(section.get("export"), ("tariff", "export"), None)
    if "export" not in section and not any("export" in s for s in raw_seasons.values()):
        all_year_exports = [flat_band(("tariff", "export"), 0.0, None)]  # no feed-in tariff
    import_path: Path = ("tariff", "import") if "import" in section else ("tariff",)
    export_path: Path = ("tariff", "export") if "export" in section else ("tariff",)
    contexts: list[_Context] = []
    outside = [day for day, season in season_of.items() if season is None]
    if outside:
        label = f" outside any season ({_day_ranges(outside)})" if seasons else ""
        contexts.append(
            _Context(None, label, all_year_imports, all_year_exports, import_path, export_path)
        )
    for season in seasons:
        raw = raw_seasons[season.name]
        path = season.path
        contexts.append(
            _Context(
                season.name,
                f" in season {season.describe()}",
                all_year_imports + read_bands(raw.get("import"), (*path, "import"), season.name),
                all_year_exports + read_bands(raw.get("export"), (*path, "export"), season.name),
                (*path, "import") if "import" in raw else path,
                (*path, "export") if "export" in raw else path,
            )
        )
    return contexts


def _week_table(
    kind: str,
    bands: Sequence[Band],
    gap_path: Path,
    label: str,
    reported: set[tuple[Path, Path]],
) -> tuple[WeekTable | None, list[TariffProblem]]:
    owner: list[Band | None] = [None] * MINUTES_PER_WEEK
    clashes: dict[tuple[Band, Band], list[int]] = {}
    for band in bands:
        for minute in band.week_minutes():
            earlier = owner[minute]
            if earlier is None:
                owner[minute] = band
            else:
                clashes.setdefault((earlier, band), []).append(minute)
    problems = [
        _overlap(earlier, band, minutes)
        for (earlier, band), minutes in clashes.items()
        if (earlier.path, band.path) not in reported
    ]
    reported.update((a.path, b.path) for a, b in clashes)
    gaps = [minute for minute, band in enumerate(owner) if band is None]
    if gaps:
        problems.append(TariffProblem(gap_path, f"no {kind} band covers {_when(gaps)}{label}"))
    if problems:
        return None, problems
    return tuple(b for b in owner if b is not None), []


def _overlap(earlier: Band, band: Band, minutes: list[int]) -> TariffProblem:
    message = (
        f"{band.describe()} overlaps {where(earlier.path)} ({earlier.describe()}) on "
        f"{_when(minutes)}; each minute needs exactly one band"
    )
    if earlier.season is None and band.season is not None:
        message += " (all-year bands apply in every season too)"
    if band.wraps:
        message += " ('to' is before 'from', so it runs past midnight: swap them if it should not)"
    return TariffProblem(band.path, message)


def _when(minutes: Iterable[int]) -> str:
    """Minutes of the week as 'weekdays 00:00-07:00, 21:00-24:00; sat 00:00-24:00'."""
    windows: dict[int, list[tuple[int, int]]] = {}
    for minute in sorted(set(minutes)):
        day, at = divmod(minute, MINUTES_PER_DAY)
        runs = windows.setdefault(day, [])
        if runs and runs[-1][1] == at:
            runs[-1] = (runs[-1][0], at + 1)
        else:
            runs.append((at, at + 1))
    days_by_windows: dict[tuple[tuple[int, int], ...], list[int]] = {}
    for day, runs in windows.items():
        days_by_windows.setdefault(tuple(runs), []).append(day)
    return "; ".join(
        describe_days(days) + " " + ", ".join(f"{hhmm(a)}-{hhmm(b)}" for a, b in runs)
        for runs, days in days_by_windows.items()
    )


def _season_overlaps(seasons: Sequence[Season]) -> list[TariffProblem]:
    problems = []
    for a, b in combinations(seasons, 2):
        shared = [day for day in YEAR_DAYS if day in a and day in b]
        if shared:
            problems.append(
                TariffProblem(
                    b.path,
                    f"season {b.describe()} shares {_day_ranges(shared)} with season "
                    f"{a.describe()}; a day can be in one season only",
                )
            )
    return problems


def _day_ranges(days: Sequence[tuple[int, int]]) -> str:
    """Days of the year as '12-01 to 02-29, 06-01 to 08-31' (a range may wrap new year)."""
    chosen = set(days)
    runs: list[list[tuple[int, int]]] = []
    for index, day in enumerate(YEAR_DAYS):
        if day in chosen:
            if index > 0 and runs and runs[-1][-1] == YEAR_DAYS[index - 1]:
                runs[-1].append(day)
            else:
                runs.append([day])
    if len(runs) > 1 and runs[0][0] == YEAR_DAYS[0] and runs[-1][-1] == YEAR_DAYS[-1]:
        runs[0] = runs.pop() + runs[0]
    return ", ".join(
        month_day(run[0]) if len(run) == 1 else f"{month_day(run[0])} to {month_day(run[-1])}"
        for run in runs
    )
