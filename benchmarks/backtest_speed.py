"""How long a 30-day backtest takes: the shipped flows, 5-minute ticks, virtual time.

Builds 30-day scenarios from the sample data (the first 30 days of a month with
QLD wholesale-derived prices, and of the month of real Amber prices, whose
volatile prices make the hardest MILPs), runs each as ``power-master backtest``
does, and prints wall and CPU seconds, ticks, plans and milliseconds per tick.
Run alone: wall time on a shared machine moves by ±10 % from run to run.

    python benchmarks/backtest_speed.py [--days 30] [--only NAME]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import fields
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flowengine.loop import run as run_loop
from powermaster.backtest.builder import build_all
from powermaster.backtest.runner import run_backtest
from powermaster.backtest.scenario import Scenario

MONTHS = ("qld-shifted-2025-01", "amber-2025-01")


def first_days(scenario: Scenario, days: int) -> Scenario:
    """The scenario cut to its first ``days`` days (forecasts and history as they were)."""
    slots = days * 24 * 60 // scenario.slot_minutes
    values = {f.name: getattr(scenario, f.name) for f in fields(scenario) if f.init}
    for series in ("import_price", "export_price", "pv_w", "load_w"):
        values[series] = values[series][:slots]
    return Scenario(**values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--only", help="run only the scenario whose name starts with this")
    args = parser.parse_args()
    scenarios = [s for s in build_all(kind="perfect") if s.name in MONTHS]
    print(
        f"{'scenario':22} {'days':>4} {'wall s':>7} {'cpu s':>7} {'ticks':>6} {'plans':>6} "
        f"{'ms/tick':>8}"
    )
    for scenario in scenarios:
        if args.only and not scenario.name.startswith(args.only):
            continue
        cut = first_days(scenario, args.days)
        wall, cpu = time.perf_counter(), time.process_time()
        result = run_loop(run_backtest(cut))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(
            f"{scenario.name:22} {args.days:4} {wall:7.1f} {cpu:7.1f} {result['ticks']:6} "
            f"{result['plans']:6} {1000 * wall / result['ticks']:8.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
