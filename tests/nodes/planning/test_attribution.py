"""Where the money went, on days small enough to check by hand.

A lossless 10 kWh battery that moves 5 kW either way, empty (10 %) at the start, four
half hours: a morning at 20 c, an evening at 40 c whose 4 kW load (2 kWh) is what the
battery is for, and two night slots at 10 c. The median import price is 15 c, so energy
left at the end is worth 15 c a kWh: the nights charge 5 kWh for it in every replay
($0.50 paid, $0.75 stored), which cancels out of every difference.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from nodes.planning.attribution import (
    PARTS,
    Day,
    Series,
    attribute,
    execute,
    stored_value,
    told,
)
from nodes.planning.inputs import BatterySpec, GridSpec
from nodes.planning.model import solve_plan
from nodes.planning.plan import plan_inputs
from nodes.planning.result import PlanSlot

START = datetime(2026, 1, 5, tzinfo=UTC)
SETTINGS: dict[str, Any] = {
    "site": {"timezone": "UTC"},
    "battery": {
        "capacity_kwh": 10.0,
        "max_charge_w": 5000.0,
        "max_discharge_w": 5000.0,
        "charge_efficiency": 1.0,
        "discharge_efficiency": 1.0,
        "soc_min": 0.1,
        "soc_max": 1.0,
    },
    "grid": {"max_import_w": 10000.0, "max_export_w": 5000.0},
}
IMPORT = [0.20, 0.40, 0.10, 0.10]
EXPORT = [0.0, 0.0, 0.0, 0.0]
LOAD = [0.0, 4000.0, 0.0, 0.0]
NO_PV = [0.0, 0.0, 0.0, 0.0]


def day(
    believed: dict[str, Sequence[float]] | None = None,
    actual: dict[str, Sequence[float]] | None = None,
    soc: float = 0.1,
) -> Day:
    """The four slots as they happened (``actual`` over the defaults) and as believed at
    every slot's start (``believed`` over what happened)."""
    truth: dict[str, Sequence[float]] = {
        "import_price": IMPORT,
        "export_price": EXPORT,
        "pv_w": NO_PV,
        "load_w": LOAD,
    }
    truth.update(actual or {})
    belief = {**truth, **(believed or {})}
    n = len(truth["load_w"])
    beliefs = tuple(Series.of(**{k: v[k0:] for k, v in belief.items()}) for k0 in range(n))
    return Day(START.timestamp(), 1800.0, Series.of(**truth), beliefs, soc)


def test_sunshine_that_never_came_costs_the_evening_import_it_left_to_buy() -> None:
    # Believed: 4 kW of PV this morning fills the battery for the evening, so the plan
    # leaves the battery to self-use and buys nothing. The sun does not come: self-use
    # charges nothing and the evening's 2 kWh is bought at 40 c ($0.80). Knowing, the plan
    # would have charged 2 kWh from the grid this morning at 20 c ($0.40).
    worked = attribute(day(believed={"pv_w": [4000.0, 0.0, 0.0, 0.0]}), SETTINGS)
    assert worked.stored_value == pytest.approx(0.15)
    believed, hindsight = worked.replays["believed"], worked.replays["hindsight"]
    assert believed.bill == pytest.approx(0.80 + 0.50)
    assert hindsight.bill == pytest.approx(0.40 + 0.50)
    assert believed.soc_end == pytest.approx(0.6) and hindsight.soc_end == pytest.approx(0.6)
    assert worked.optimum == pytest.approx(0.90 - 0.75)
    # The site did just what the believed plan said: the whole gap is the PV forecast's.
    parts = worked.parts(actual_bill=1.30, actual_soc_end=0.6)
    assert parts == pytest.approx({"pv": 0.40, "load": 0.0, "prices": 0.0, "execution": 0.0})


def test_a_load_nobody_expected_is_the_load_forecasts_part() -> None:
    # Believed: no evening load, so nothing is kept for it; it comes, and is bought at 40 c.
    worked = attribute(day(believed={"load_w": [0.0, 0.0, 0.0, 0.0]}), SETTINGS)
    parts = worked.parts(actual_bill=worked.replays["believed"].bill, actual_soc_end=0.6)
    assert parts == pytest.approx({"pv": 0.0, "load": 0.40, "prices": 0.0, "execution": 0.0})


def test_a_price_forecast_that_hid_the_evening_peak_is_the_prices_part() -> None:
    # Believed: the evening at 18 c, below the morning's 20 c, so nothing is charged for it.
    worked = attribute(day(believed={"import_price": [0.20, 0.18, 0.10, 0.10]}), SETTINGS)
    parts = worked.parts(actual_bill=worked.replays["believed"].bill, actual_soc_end=0.6)
    assert parts == pytest.approx({"pv": 0.0, "load": 0.0, "prices": 0.40, "execution": 0.0})


def test_perfect_forecasts_leave_only_execution_and_solve_each_slot_once() -> None:
    worked = attribute(day(), SETTINGS)
    assert worked.solves == 4  # the four replays are told the same: one solve a slot
    assert [r.bill for r in worked.replays.values()] == pytest.approx([0.90] * 4)
    # The site bought the evening at 40 c instead of charging the morning: $0.40 lost.
    parts = worked.parts(actual_bill=1.30, actual_soc_end=0.6)
    assert parts == pytest.approx({"pv": 0.0, "load": 0.0, "prices": 0.0, "execution": 0.40})


def test_the_parts_add_up_to_the_bill_less_the_optimum_whatever_went_wrong() -> None:
    worked = attribute(
        day(
            believed={
                "pv_w": [3000.0, 1000.0, 0.0, 0.0],
                "load_w": [500.0, 2500.0, 800.0, 0.0],
                "import_price": [0.25, 0.30, 0.12, 0.08],
                "export_price": [0.02, 0.05, 0.0, 0.0],
            },
            actual={"pv_w": [1000.0, 0.0, 0.0, 0.0], "export_price": [0.01, 0.08, 0.0, 0.0]},
            soc=0.35,
        ),
        SETTINGS,
    )
    parts = worked.parts(actual_bill=1.07, actual_soc_end=0.5)
    assert list(parts) == list(PARTS)
    gap = worked.adjusted(1.07, 0.5) - worked.optimum
    assert sum(parts.values()) == pytest.approx(gap)
    assert worked.optimum <= worked.replay_adjusted("believed") + 1e-9


def test_energy_left_in_the_battery_is_valued_as_the_planner_values_it() -> None:
    worn = {**SETTINGS, "planner": {"cycle_cost_per_kwh": 0.05}}
    lossy = {**worn, "battery": {**SETTINGS["battery"], "discharge_efficiency": 0.9}}
    assert stored_value(lossy, IMPORT) == pytest.approx((0.15 - 0.05) * 0.9)
    assert stored_value(worn, [0.01, 0.02, 0.03]) == 0.0


def test_a_replay_is_told_the_truth_only_for_what_it_knows() -> None:
    d = day(believed={"pv_w": [4000.0, 100.0, 0.0, 0.0], "import_price": [0.2, 0.3, 0.1, 0.1]})
    at_one = told(d, 1, frozenset({"pv_w"}))
    assert at_one.pv_w == (0.0, 0.0, 0.0) and at_one.import_price == (0.3, 0.1, 0.1)
    short = Day(
        d.start,
        1800.0,
        d.actual,
        (
            d.believed[0],
            *(
                Series.of(
                    **{
                        k: [getattr(b, k)[0]]
                        for k in ("import_price", "export_price", "pv_w", "load_w")
                    }
                )
                for b in d.believed[1:]
            ),
        ),
        0.1,
    )
    assert len(told(short, 1, frozenset({"pv_w"}))) == 1  # a belief reaching one slot
    assert len(told(short, 1, frozenset(("import_price", "export_price", "pv_w", "load_w")))) == 3


# -- one slot carried out ---------------------------------------------------------------

BATTERY = BatterySpec(10.0, 5000.0, 5000.0, 1.0, 1.0, 0.1, 1.0)
GRID = GridSpec(max_import_w=10000.0, max_export_w=5000.0)


def slot(mode: str, battery_w: float = 0.0, curtailed_w: float = 0.0) -> PlanSlot:
    return PlanSlot(
        start=START,
        mode=mode,  # type: ignore[arg-type]
        power_w=abs(battery_w),
        soc_end=0.5,
        grid_import_w=0.0,
        grid_export_w=0.0,
        battery_charge_w=max(battery_w, 0.0),
        battery_discharge_w=max(-battery_w, 0.0),
        battery_w=battery_w,
        selfuse_battery_w=battery_w,
        pv_curtailed_w=curtailed_w,
        import_price=0.3,
        export_price=0.05,
        cost=0.0,
        reason="",
    )


def test_self_use_takes_the_real_surplus_whatever_the_plan_expected() -> None:
    done = execute(slot("self_use", 4000.0), 1000.0, 3000.0, 0.3, 0.05, 0.5, BATTERY, GRID, 0.5)
    # 2 kW short: the battery covers it, nothing is bought.
    assert done.import_kwh == pytest.approx(0.0) and done.soc_end == pytest.approx(0.4)


def test_a_forced_charge_runs_at_the_planned_power_and_the_grid_makes_up_the_rest() -> None:
    done = execute(slot("force_charge", 5000.0), 1000.0, 500.0, 0.1, 0.05, 0.5, BATTERY, GRID, 0.5)
    assert done.import_kwh == pytest.approx(2.25) and done.soc_end == pytest.approx(0.75)
    assert done.cost == pytest.approx(0.225)


def test_a_full_battery_in_self_use_exports_up_to_the_limit_and_curtails_the_rest() -> None:
    done = execute(slot("self_use"), 9000.0, 1000.0, 0.3, 0.05, 1.0, BATTERY, GRID, 0.5)
    assert done.export_kwh == pytest.approx(2.5) and done.curtailed_kwh == pytest.approx(1.5)
    assert done.soc_end == pytest.approx(1.0)


def test_zero_export_exports_nothing_and_the_battery_serves_only_the_house() -> None:
    done = execute(
        slot("self_use_zero_export"), 3000.0, 1000.0, 0.3, -0.05, 1.0, BATTERY, GRID, 0.5
    )
    assert done.export_kwh == 0.0 and done.curtailed_kwh == pytest.approx(1.0)


def test_paid_to_import_a_curtailing_plan_buys_up_to_the_import_limit() -> None:
    done = execute(
        slot("force_charge", 5000.0, curtailed_w=2000.0),
        2000.0,
        1000.0,
        -0.1,
        -0.2,
        0.5,
        BATTERY,
        GRID,
        0.5,
    )
    assert done.curtailed_kwh == pytest.approx(1.0)  # all the PV: 6 kW from the grid
    assert done.import_kwh == pytest.approx(3.0) and done.cost == pytest.approx(-0.3)


def test_an_empty_battery_gives_only_what_it_holds() -> None:
    done = execute(slot("force_discharge", -5000.0), 0.0, 0.0, 0.3, 0.2, 0.2, BATTERY, GRID, 0.5)
    assert done.export_kwh == pytest.approx(1.0) and done.soc_end == pytest.approx(0.1)


def test_knowing_the_day_replanning_each_half_hour_is_the_days_one_plan_optimum() -> None:
    """The hindsight replay is the optimum a single plan over the day finds: a plan that
    knows everything never changes its mind (a lossy battery with wear, a whole day)."""
    settings = {
        **SETTINGS,
        "battery": {**SETTINGS["battery"], "charge_efficiency": 0.95, "discharge_efficiency": 0.95},
        "planner": {"cycle_cost_per_kwh": 0.02},
    }
    hours = [k / 2 for k in range(48)]
    pv = [max(0.0, 5000 * math.sin(math.pi * (h - 6) / 13)) for h in hours]
    load = [600 + 1800 * (17 <= h < 21) + 300 * math.cos(h) for h in hours]
    buy = [
        0.12 + 0.30 * (16 <= h < 21) + 0.05 * (7 <= h < 9) - 0.08 * (11 <= h < 14) for h in hours
    ]
    sell = [0.05 + 0.25 * (18 <= h < 19) - 0.07 * (11 <= h < 14) for h in hours]
    truth = {"import_price": buy, "export_price": sell, "pv_w": pv, "load_w": load}
    one = Day(
        START.timestamp(),
        1800.0,
        Series.of(**truth),
        tuple(Series.of(**{k: v[k0:] for k, v in truth.items()}) for k0 in range(48)),
        0.4,
    )
    worked = attribute(one, settings)
    forecast = {"start": START.timestamp(), "slot_seconds": 1800, **truth}
    inputs = plan_inputs(settings, forecast, 0.4)
    options = dataclasses.replace(inputs.options, terminal_value_per_kwh=worked.stored_value)
    best = solve_plan(dataclasses.replace(inputs, options=options))
    assert worked.optimum == pytest.approx(
        worked.adjusted(best.total_cost, best.slots[-1].soc_end), abs=0.005
    )
