"""A car on the sample data: Power Master against two ways people charge one without it.

The car (powermaster/backtest/car.py): home 18:00 at 30 %, gone 07:30 needing 80 % of
60 kWh, an 11 kW charger (16 A three-phase), on the simulated OpenEVSE the shipped
flows drive over HTTP. Per scenario (perfect foresight, the sample data's Amber and
QLD prices), three bills of the same house and battery:

- Power Master: the car as a flexible load (``flexible_loads``), planned and driven;
- charge on arrival: the charger at its most from 18:00 until 80 %, a load the plan
  knows of but cannot move;
- cheapest hours, no house battery: the bill with no car, plus the car's energy bought
  in the cheapest slots of each night at the charger's most.

And how many mornings the car left with its 80 % (the car's own SOC at 07:30).

    python benchmarks/backtest_car.py [--days 14] [--only amber,qld-shifted]
        [--from-battery]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flowengine.loop import run as run_loop
from powermaster.backtest.builder import (
    amber_prices,
    build_scenario,
    qld_shifted_prices,
)
from powermaster.backtest.capture import check_result
from powermaster.backtest.car import (
    CarSpec,
    cheapest_hours_cost,
    departures_in,
    on_arrival_w,
    unfinished_night_cost,
)
from powermaster.backtest.runner import run_backtest
from powermaster.backtest.scenario import Scenario

#: Where each price source's fortnight starts (summer: long days, a battery that fills).
FIRST = {"amber": date(2025, 1, 6), "qld-shifted": date(2025, 3, 3)}
PRICES = {"amber": amber_prices, "qld-shifted": qld_shifted_prices}
#: A morning counts as met at the target less half a percent (the charger's last step).
MET_TOLERANCE = 0.005


def scenario_for(source: str, days: int) -> Scenario:
    first = FIRST[source]
    last = date.fromordinal(first.toordinal() + days - 1)
    return build_scenario(f"{source}-car-{first}-{days}d", first, last, PRICES[source]())


def with_car_load(scenario: Scenario, draw: list[float]) -> Scenario:
    """The same scenario with the car's draw in the house load (charge on arrival)."""
    load = [a + b for a, b in zip(scenario.load_w, draw, strict=True)]
    return replace(scenario, name=f"{scenario.name}-on-arrival", load_w=load)


def run(scenario: Scenario, spec: CarSpec | None) -> dict[str, Any]:
    result = run_loop(run_backtest(scenario, car=spec))
    problems = check_result(result, scenario)
    if problems:
        raise SystemExit(f"{scenario.name}: the result fails its checks: {problems[:3]}")
    return result


def compare(scenario: Scenario, spec: CarSpec) -> dict[str, Any]:
    ours = run(scenario, spec)
    house = run(scenario, None)
    arrival = run(with_car_load(scenario, on_arrival_w(scenario, spec)), None)
    cheap_cost, cheap_kwh = cheapest_hours_cost(scenario, spec, house)
    departures = departures_in(ours)
    met = sum(soc >= spec.target_soc - MET_TOLERANCE for _, soc in departures)
    return {
        "name": scenario.name,
        # Less what the car drew on the last evening for a morning past the end.
        "ours": ours["bill"]["net"] - unfinished_night_cost(scenario, ours, spec),
        "on_arrival": arrival["bill"]["net"],
        "cheapest": house["bill"]["net"] + cheap_cost,
        "house": house["bill"]["net"],
        "car_kwh": ours["car"]["drawn_kwh"],
        "cheapest_kwh": cheap_kwh,
        "mornings": len(departures),
        "met": met,
        "lowest_soc": min((soc for _, soc in departures), default=None),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--only", default="amber,qld-shifted")
    parser.add_argument(
        "--from-battery", action="store_true", help="the car may use the house battery"
    )
    args = parser.parse_args()
    spec = CarSpec(from_battery=args.from_battery)
    print(
        f"car: {spec.capacity_kwh:g} kWh, {spec.arrive_soc:.0%} at {spec.arrive} -> "
        f"{spec.target_soc:.0%} by {spec.leave}, {spec.max_w / 1000:.2f} kW charger, "
        f"from the house battery: {'yes' if spec.from_battery else 'no'}"
    )
    print(
        "| scenario | Power Master | charge on arrival | cheapest hours, no house battery "
        "| house alone | car kWh | mornings at 80 % | lowest SOC |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for source in args.only.split(","):
        row = compare(scenario_for(source, args.days), spec)
        print(
            f"| {row['name']} | {row['ours']:.2f} | {row['on_arrival']:.2f} | "
            f"{row['cheapest']:.2f} | {row['house']:.2f} | {row['car_kwh']:.1f} | "
            f"{row['met']}/{row['mornings']} | {row['lowest_soc']:.3f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
