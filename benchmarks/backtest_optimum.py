"""Solve time and bill of the perfect-knowledge optimum for every sample scenario.

The optimum is capture's yardstick and is solved once per scenario, so a month must take
seconds. Prints one row per scenario with the no-battery bill for scale. Run:
    python benchmarks/backtest_optimum.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from powermaster.backtest.builder import perfect_scenarios
from powermaster.backtest.optimum import optimum
from powermaster.backtest.scenario import Scenario


def no_battery_bill(s: Scenario) -> float:
    """Bill without a battery: PV serves load, the surplus exported up to the limit if paid."""
    h, cap = s.slot_hours, s.grid.max_export_w / 1000.0
    bill = 0.0
    for i in range(s.n_slots):
        net = (s.load_w[i] - s.pv_w[i]) / 1000.0 * h
        if net >= 0:
            bill += net * s.import_price[i]
        elif s.export_price[i] > 0:
            bill += max(net, -cap * h) * s.export_price[i]
    return bill


def main() -> None:
    print(f"{'scenario':24} {'slots':>5} {'no_batt $':>10} {'optimum $':>10} {'soc_f':>6} {'s':>6}")
    total = 0.0
    for s in perfect_scenarios():
        best = optimum(s)
        total += best.seconds
        print(
            f"{s.name:24} {s.n_slots:5d} {no_battery_bill(s):10.2f} {best.bill:10.2f} "
            f"{best.soc_final:6.3f} {best.seconds:6.2f}"
        )
    print(f"total solve {total:.1f} s")


if __name__ == "__main__":
    main()
