"""Scoring a backtest: the capture figure and the physical checks on a result.

Bills are compared only after valuing the energy left in the battery, otherwise a run
could look good by ending the month empty. ``check_result`` holds any result, ours or
another planner's, to the contract: energy balances per slot, SOC follows the battery's
efficiencies and limits, and the bill is what the slots say.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

from powermaster.backtest.optimum import Optimum
from powermaster.backtest.scenario import Scenario


def adjusted(bill: float, scenario: Scenario, soc_final: float) -> float:
    """Bill minus the change in stored energy valued at the median import price."""
    b = scenario.battery
    stored = (soc_final - b.soc_initial) * b.capacity_kwh
    return bill - stored * statistics.median(scenario.import_price)


def capture(
    self_use_bill: float,
    bill: float,
    optimum: float | Optimum,
    scenario: Scenario,
    soc_final_bill: float,
    soc_final_self_use: float,
    soc_final_optimum: float | None = None,
) -> float:
    """(self_use_adj - bill_adj) / (self_use_adj - optimum_adj): 0 = inverter alone, 1 = best.

    ``optimum`` is an Optimum (its own final SOC is used) or a bill, then taken to end at
    ``soc_final_optimum`` (default: the start SOC). NaN when nothing could be saved.
    """
    if isinstance(optimum, Optimum):
        best, soc_best = optimum.bill, optimum.soc_final
    else:
        best = optimum
        soc_best = scenario.battery.soc_initial if soc_final_optimum is None else soc_final_optimum
    base = adjusted(self_use_bill, scenario, soc_final_self_use)
    room = base - adjusted(best, scenario, soc_best)
    if room <= 1e-9:
        return math.nan
    return (base - adjusted(bill, scenario, soc_final_bill)) / room


def check_result(
    result: dict[str, Any],
    scenario: Scenario,
    *,
    balance_tol_wh: float = 1.0,
    soc_tol: float = 1e-3,
    bill_tol: float = 0.01,
) -> list[str]:
    """Everything wrong with a result against its scenario (empty list = passes)."""
    problems: list[str] = []
    slots = result.get("slots", [])
    if len(slots) != scenario.n_slots:
        return [f"{len(slots)} slots, scenario has {scenario.n_slots}"]
    b, h = scenario.battery, scenario.slot_hours
    soc = float(result.get("soc_initial", b.soc_initial))
    if abs(soc - b.soc_initial) > soc_tol:
        problems.append(f"soc_initial {soc} is not the scenario's {b.soc_initial}")
    import_cost = export_revenue = 0.0
    for i, s in enumerate(slots):
        imp, exp = s["grid_import_wh"], s["grid_export_wh"]
        charge, discharge = s["battery_charge_wh"], s["battery_discharge_wh"]
        curtailed = s.get("pv_curtailed_wh", 0.0)
        if min(imp, exp, charge, discharge, curtailed) < 0:
            problems.append(f"slot {i}: negative energy")
        # A car's draw (run_backtest(car=...)) is house load the scenario does not hold.
        pv, load = scenario.pv_w[i] * h, scenario.load_w[i] * h + s.get("flexible_wh", 0.0)
        gap = (pv - curtailed + imp + discharge) - (load + exp + charge)
        if abs(gap) > balance_tol_wh:
            problems.append(f"slot {i}: energy does not balance by {gap:+.1f} Wh")
        expected = soc + (charge * b.charge_efficiency - discharge / b.discharge_efficiency) / (
            b.capacity_kwh * 1000.0
        )
        end = s["soc_end"]
        if abs(end - expected) > soc_tol:
            problems.append(f"slot {i}: soc_end {end:.4f}, efficiencies give {expected:.4f}")
        if not b.soc_min - soc_tol <= end <= b.soc_max + soc_tol:
            problems.append(f"slot {i}: soc_end {end:.4f} outside {b.soc_min}..{b.soc_max}")
        soc = end
        import_cost += imp / 1000.0 * scenario.import_price[i]
        export_revenue += exp / 1000.0 * scenario.export_price[i]
    if "soc_final" in result and abs(result["soc_final"] - soc) > soc_tol:
        problems.append(f"soc_final {result['soc_final']} is not the last soc_end {soc}")
    bill = result.get("bill", {})
    for key, value in (
        ("import_cost", import_cost),
        ("export_revenue", export_revenue),
        ("net", import_cost - export_revenue),
    ):
        if key not in bill or abs(bill[key] - value) > bill_tol:
            problems.append(f"bill.{key} {bill.get(key)} but the slots give {value:.4f}")
    return problems


__all__ = ["adjusted", "capture", "check_result"]
