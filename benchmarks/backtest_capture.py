"""How much of the possible saving the product captures, month by month.

Builds scenarios from the sample data (Brisbane load and PV with real Amber
prices, and AEMO QLD prices turned retail, as powermaster/backtest/builder.py
documents), runs ``power-master backtest`` on each (the real flows, the 5-minute
tick, the simulated inverter over Modbus, virtual time) and prints per month:
the bill, the self-use bill, the best possible bill (a perfect-foresight MILP
over the whole month) and capture. First with perfect foresight, then with
forecasts that err (PV and prices erring more with lead time, load predicted
by the product from the home's own history).

    python benchmarks/backtest_capture.py [--only amber-2025-02] [--kind perfect|erring|both]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

from flowengine.loop import run as run_loop
from powermaster.backtest.builder import Kind, build_all
from powermaster.backtest.capture import capture, check_result
from powermaster.backtest.optimum import optimum
from powermaster.backtest.runner import baseline_soc_final, run_backtest
from powermaster.backtest.scenario import Scenario


def run_one(scenario: Scenario) -> dict[str, object]:
    result = run_loop(run_backtest(scenario))
    problems = check_result(result, scenario)
    best = optimum(scenario)
    value = capture(
        result["baselines"]["self_use"],
        result["bill"]["net"],
        best,
        scenario,
        result["soc_final"],
        baseline_soc_final(scenario),
    )
    return {
        "name": scenario.name,
        "bill": result["bill"]["net"],
        "self_use": result["baselines"]["self_use"],
        "no_battery": result["baselines"]["no_battery"],
        "optimum": best.bill,
        "capture": value,
        "soc_final": result["soc_final"],
        "ticks": result["ticks"],
        "plans": result["plans"],
        "wall": result["wall_seconds"],
        "problems": problems,
    }


def report(title: str, rows: list[dict[str, Any]]) -> None:
    print(f"\n{title}")
    print(
        f"{'scenario':28} {'bill':>9} {'self-use':>9} {'optimum':>9} {'capture':>8} "
        f"{'plans':>6} {'wall s':>7}  checks"
    )
    for row in rows:
        checks = "ok" if not row["problems"] else f"{len(row['problems'])} problems"
        print(
            f"{row['name']:28} {row['bill']:9.2f} {row['self_use']:9.2f} "
            f"{row['optimum']:9.2f} {row['capture']:8.3f} {row['plans']:6} "
            f"{row['wall']:7.1f}  {checks}"
        )
    captures = [float(r["capture"]) for r in rows]
    if captures:
        print(f"{'':28} capture min {min(captures):.3f}, median {statistics.median(captures):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=["perfect", "erring", "both"], default="both")
    parser.add_argument("--only", help="run only scenarios whose name starts with this")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    kinds: list[Kind] = ["perfect", "erring"] if args.kind == "both" else [args.kind]
    everything: dict[str, list[dict[str, Any]]] = {}
    for kind in kinds:
        rows: list[dict[str, Any]] = []
        for scenario in build_all(kind=kind):
            if args.only and not scenario.name.startswith(args.only):
                continue
            row = run_one(scenario)
            rows.append(row)
            print(
                f"  {row['name']}: capture {row['capture']:.3f} ({row['wall']:.0f} s)",
                file=sys.stderr,
                flush=True,
            )
        everything[kind] = rows
        title = (
            "Perfect foresight"
            if kind == "perfect"
            else "Forecasts that err (load predicted by the product)"
        )
        report(title, rows)
    if args.json:
        args.json.write_text(json.dumps(everything, indent=1))


if __name__ == "__main__":
    main()
