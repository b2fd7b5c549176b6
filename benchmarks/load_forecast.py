"""MAE per half hour (W) of the load predictor on the sample household: today's history
profile against the same with the day type (Queensland public holidays count as Sundays).

Walks forward over the sample household's year (``nodes/replay/data/home_brisbane_30min.csv``,
load W = kWh per half hour x 2000) as ``forecast.load`` sees it: every ``--every`` hours from
the first day with four weeks of history, a 48 h prediction from the four weeks before the
issue and nothing after it, scored against what happened. Prints MAE overall, by month (of
the slot predicted) and by lead time (0-6 h, 6-24 h, 24-48 h), and on public holidays and
the days after them.

The sample data holds no temperatures of its own (no Brisbane weather history), so the
temperature term cannot be measured here; tests/nodes/forecast/test_temperature.py checks
it on households whose watts per degree are known.

    python benchmarks/load_forecast.py [--every HOURS]
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nodes.forecast import DEFAULT_PROFILE, predict_load
from nodes.forecast.daytype import holidays_between
from powermaster.backtest.builder import load_w

TZ = ZoneInfo("Australia/Brisbane")
REGION = "AU-QLD"
SLOT = 1800
HORIZON = 96  # 48 h
HISTORY = 28 * 48  # what forecast.load reads: four weeks
LEADS = (("0-6 h", 0, 12), ("6-24 h", 12, 48), ("24-48 h", 48, 96))
Predictor = Callable[[list[tuple[float, float]], int], list[float]]


def predictors(holidays: frozenset[date]) -> dict[str, Predictor]:
    def today(past: list[tuple[float, float]], start: int) -> list[float]:
        return predict_load(past, start, HORIZON, TZ, DEFAULT_PROFILE)

    def day_type(past: list[tuple[float, float]], start: int) -> list[float]:
        return predict_load(past, start, HORIZON, TZ, DEFAULT_PROFILE, holidays=holidays)

    return {"today": today, "day type": day_type}


def issues(times: list[int], every_h: int) -> Iterator[int]:
    """Indexes into ``times`` of each issue: local midnight and every ``every_h`` hours after,
    from the first day with four weeks of history while 48 h of truth follow."""
    day = datetime.fromtimestamp(times[HISTORY], TZ).date() + timedelta(days=1)
    first = times[0]
    while True:
        for hour in range(0, 24, every_h):
            start = int(datetime(day.year, day.month, day.day, hour, tzinfo=TZ).timestamp())
            index = (start - first) // SLOT
            if index + HORIZON > len(times):
                return
            yield index
        day += timedelta(days=1)


def groups(t: int, lead: str, holidays: frozenset[date]) -> Iterator[tuple[str, str]]:
    """The (row, column) cells one error counts in."""
    local = datetime.fromtimestamp(t, TZ).date()
    rows = ["all", f"{local:%Y-%m}"]
    if local in holidays:
        rows.append("public holidays")
    elif local - timedelta(days=1) in holidays:
        rows.append("days after one")
    for row in rows:
        yield row, "all"
        yield row, lead


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=int, default=3, help="hours between issues (3)")
    args = parser.parse_args()
    load = load_w()
    times = sorted(load)
    assert all(b - a == SLOT for a, b in itertools.pairwise(times)), "gaps in the data"
    first_year, last_year = (datetime.fromtimestamp(t, TZ).year for t in (times[0], times[-1]))
    holidays = holidays_between(REGION, range(first_year, last_year + 1))
    rows = [(t, load[t]) for t in times]
    names = list(predictors(holidays))
    # (predictor, row, column) -> [sum of absolute errors, count]
    errors: dict[tuple[str, str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    seconds = dict.fromkeys(names, 0.0)
    count, first = 0, None
    for index in issues(times, args.every):
        first = first or times[index]
        past = [(float(t), w) for t, w in rows[index - HISTORY : index]]
        start = times[index]
        count += 1
        for name, predict in predictors(holidays).items():
            began = time.process_time()
            predicted = predict(past, start)
            seconds[name] += time.process_time() - began
            for lead, lo, hi in LEADS:
                for k in range(lo, hi):
                    t, actual = rows[index + k]
                    for row, column in groups(t, lead, holidays):
                        cell = errors[name, row, column]
                        cell[0] += abs(predicted[k] - actual)
                        cell[1] += 1
    assert first is not None, "too little data for one issue"
    span = " .. ".join(f"{datetime.fromtimestamp(t, TZ):%Y-%m-%d}" for t in (first, times[-1]))
    print(
        f"Load forecast MAE per half hour (W), {count} issues every {args.every} h, 48 h each, "
        f"{span}; public holidays: {REGION}"
    )
    report(errors, names)
    for name in names:
        print(f"{name}: {1000 * seconds[name] / count:.1f} ms CPU per prediction")
    print(
        "temperature: not measured (the sample data has no temperature history; "
        "tests/nodes/forecast/test_temperature.py)"
    )


def report(errors: dict[tuple[str, str, str], list[float]], names: list[str]) -> None:
    columns = ["all", *(lead for lead, _, _ in LEADS)]
    a, b = names
    head = f"{'':16}"
    for column in columns:
        head += f" | {column + ': ' + a:>13} {b:>8} {'change':>7}"
    print(head)
    months = sorted({r for _, r, _ in errors if r[:2] == "20"})
    for row in ["all", *months, "public holidays", "days after one"]:
        if (a, row, "all") not in errors:
            continue
        line = f"{row:16}"
        for column in columns:
            x, y = (_mae(errors.get((n, row, column))) for n in names)
            line += f" | {x:13.1f} {y:8.1f} {100 * (y - x) / x:+6.2f}%"
        print(line)


def _mae(cell: list[float] | None) -> float:
    return float("nan") if not cell or not cell[1] else cell[0] / cell[1]


if __name__ == "__main__":
    main()
