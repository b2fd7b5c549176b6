"""A backtest day by day: a month's average hides the day that lost two dollars.

Each local day gets the three bills (ours, the inverter alone in Self Use, the
optimum with perfect knowledge of the whole period) and its capture, every bill
adjusted by the energy the battery gained or lost that day, valued at the
scenario's median import price, as the period's capture is.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from powermaster.backtest.optimum import Optimum
from powermaster.backtest.runner import self_use_slots
from powermaster.backtest.scenario import Scenario


@dataclass(frozen=True, slots=True)
class Day:
    day: date
    bill: float
    self_use: float
    optimum: float
    #: 0 = no better than the inverter alone, 1 = the optimum; NaN where nothing was to gain.
    capture: float
    #: The bills less the energy each left in the battery that day (gained: less to pay).
    bill_adjusted: float
    self_use_adjusted: float
    optimum_adjusted: float

    @property
    def lost_to_optimum(self) -> float:
        """$ the day left on the table against perfect knowledge (stored energy valued)."""
        return self.bill_adjusted - self.optimum_adjusted


def by_day(scenario: Scenario, result: Mapping[str, Any], best: Optimum) -> list[Day]:
    """The backtest ``result``'s days, with the self-use baseline's and ``best``'s."""
    ours = _per_slot(scenario, result["slots"])
    alone = _per_slot(scenario, self_use_slots(scenario))
    optimum = [
        (
            (s.grid_import_w * s.import_price - s.grid_export_w * s.export_price)
            / 1000.0
            * scenario.slot_hours,
            s.soc_end,
        )
        for s in best.plan.slots
    ]
    price = statistics.median(scenario.import_price)
    capacity = scenario.battery.capacity_kwh
    tz = ZoneInfo(scenario.timezone)
    days: dict[date, list[int]] = {}
    for i in range(scenario.n_slots):
        days.setdefault(scenario.slot_start(i).astimezone(tz).date(), []).append(i)

    def adjusted(series: Sequence[tuple[float, float]], slots: list[int]) -> tuple[float, float]:
        start = scenario.battery.soc_initial if slots[0] == 0 else series[slots[0] - 1][1]
        bill = sum(series[i][0] for i in slots)
        return bill, bill - (series[slots[-1]][1] - start) * capacity * price

    out = []
    for day, slots in days.items():
        bill, bill_adj = adjusted(ours, slots)
        base, base_adj = adjusted(alone, slots)
        best_bill, best_adj = adjusted(optimum, slots)
        room = base_adj - best_adj
        capture = (base_adj - bill_adj) / room if room > 1e-6 else math.nan
        out.append(Day(day, bill, base, best_bill, capture, bill_adj, base_adj, best_adj))
    return out


def _per_slot(scenario: Scenario, slots: Sequence[Mapping[str, Any]]) -> list[tuple[float, float]]:
    """(net bill $, SOC at the end) of each slot of a result's slots."""
    prices = zip(scenario.import_price, scenario.export_price, strict=True)
    return [
        ((s["grid_import_wh"] * buy - s["grid_export_wh"] * sell) / 1000.0, float(s["soc_end"]))
        for s, (buy, sell) in zip(slots, prices, strict=True)
    ]
