"""What the plan holds: overrides (in force and set ahead) and the weekly schedule, slot by
slot, and hand-checkable plans that change around them.

The plans are nodes/planning/small.py's: half-hour slots from Monday 2026-01-05 00:00
UTC, a lossless 10 kWh battery moving 5 kW either way (2.5 kWh a slot), no PV, export
paying nothing. The site's zone is UTC unless a test says otherwise.
"""

from __future__ import annotations

from typing import Any

import pytest

from nodes.planning import solve_plan
from nodes.planning.held import Held, held_slots, override_battery_w
from tests.nodes.planning.small import T0, small_inputs

START = T0.timestamp()
STEP = 1800.0
BATTERY = {"max_charge_w": 5000, "max_discharge_w": 5000}


def settings(timezone: str = "UTC", schedule: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "site": {"timezone": timezone},
        "battery": BATTERY,
        "control": {"schedule": schedule or []},
    }


def starts(n: int) -> list[float]:
    return [START + i * STEP for i in range(n)]


def ahead(mode: str, power_w: float, start: float, until: float) -> dict[str, Any]:
    """An override set ahead, as global.planned_overrides keeps it."""
    return {"id": "a1", "mode": mode, "power_w": power_w, "from": start, "until": until}


def held(
    n: int,
    config: dict[str, Any] | None = None,
    now: float = START,
    pv: float = 0.0,
    load: float = 0.0,
    **more: Any,
) -> list[Held | None]:
    return held_slots(config or settings(), starts(n), STEP, [pv] * n, [load] * n, now, **more)


def powers(found: list[Held | None]) -> list[float | None]:
    return [None if h is None else h.battery_w for h in found]


# -- which slots, at what power -------------------------------------------------------


def test_an_override_set_ahead_holds_the_slots_of_its_window() -> None:
    # 00:45-01:30: half of slot 1 (a forced charge is held at its average), all of slot 2.
    found = held(4, planned=[ahead("force_charge", 3000, START + 2700, START + 5400)])
    assert powers(found) == [None, 1500.0, 3000.0, None]
    assert found[2] is not None and found[2].mode == "force_charge"
    assert found[2].by == "override set ahead (from Mon 00:45)"


def test_a_hold_or_self_use_is_held_only_where_it_covers_half_a_slot() -> None:
    found = held(4, planned=[ahead("hold", 0, START + 2700, START + 4500)])  # 00:45-01:15
    assert powers(found) == [None, 0.0, 0.0, None]  # 15 of 30 minutes each: held
    found = held(4, planned=[ahead("hold", 0, START + 3000, START + 4200)])  # 00:50-01:10
    assert powers(found) == [None, None, None, None]  # 10 minutes each: not


def test_the_override_in_force_is_held_until_one_set_ahead_takes_over() -> None:
    now_override = {"mode": "force_discharge", "power_w": 2000, "until": START + 4 * STEP}
    later = ahead("force_charge", 5000, START + 2 * STEP, START + 3 * STEP)
    found = held(5, override=now_override, planned=[later])
    assert powers(found) == [-2000.0, -2000.0, 5000.0, None, None]
    assert [h.by if h else None for h in found][:2] == ["override", "override"]


def test_an_override_in_force_counts_from_now_and_one_over_holds_nothing() -> None:
    now = START + 900  # a quarter past: the slot holding now, from now on
    found = held(
        3, now=now, override={"mode": "force_charge", "power_w": 4000, "until": now + 1800}
    )
    assert powers(found) == [2000.0, 2000.0, None]
    over = {"mode": "force_charge", "power_w": 4000, "until": now}
    assert powers(held(3, now=now, override=over)) == [None, None, None]
    assert powers(held(2, override={"mode": "warp", "until": START + 3600})) == [None, None]


def test_self_use_is_held_at_what_pv_less_load_gives() -> None:
    found = held(2, pv=3000, load=1000, planned=[ahead("self_use", 0, START, START + 3600)])
    assert powers(found) == [2000.0, 2000.0]
    assert override_battery_w("self_use", 0, {"pv_w": 0, "load_w": 800}, BATTERY) == -800
    assert override_battery_w("force_discharge", None, {}, BATTERY) == -5000  # full power


def test_a_schedule_rule_holds_its_slots_in_the_site_wall_time() -> None:
    # Brisbane is UTC+10: 10:30-11:30 there is slots 1 and 2 of a plan from 00:00 UTC.
    rule = {"name": "late morning", "days": "mon", "from": "10:30", "to": "11:30"}
    config = settings("Australia/Brisbane", [{**rule, "mode": "force_discharge"}])
    found = held(4, config)
    assert powers(found) == [None, -5000.0, -5000.0, None]  # no power_w: the battery's full
    assert found[1] is not None and found[1].by == "schedule rule 'late morning'"
    tuesday = settings("Australia/Brisbane", [{**rule, "days": "tue", "mode": "hold"}])
    assert powers(held(4, tuesday)) == [None] * 4


def test_a_schedule_rule_past_midnight_belongs_to_the_day_it_starts() -> None:
    rule = {"days": "sun", "from": "23:00", "to": "01:00", "mode": "hold", "power_w": 0}
    found = held(3, settings(schedule=[rule]))  # Monday 00:00-01:30 UTC: Sunday's rule
    assert powers(found) == [0.0, 0.0, None]
    assert found[0] is not None and found[0].by == "schedule rule '23:00-01:00'"
    monday = {**rule, "days": "mon"}  # Monday's runs from Monday 23:00
    assert powers(held(3, settings(schedule=[monday]))) == [None] * 3


def test_an_override_wins_over_the_schedule_and_the_schedule_can_be_left_out() -> None:
    rule = {"days": "all", "from": "00:00", "to": "02:00", "mode": "hold"}
    config = settings(schedule=[rule])
    later = ahead("force_charge", 5000, START + STEP, START + 2 * STEP)
    assert powers(held(4, config, planned=[later])) == [0.0, 5000.0, 0.0, 0.0]
    assert powers(held(4, config, schedule=False)) == [None] * 4


# -- the plan around them ---------------------------------------------------------------


def plan_with(prices: list[float], soc: float, found: list[Held | None] | None = None) -> Any:
    """The small plan, 2 kW of load, the held slots (if any) as PlanOptions.overridden."""
    overridden = None if found is None else [None if h is None else h.as_option() for h in found]
    return solve_plan(small_inputs(prices, 2000.0, soc, overridden=overridden))


def test_the_plan_around_an_override_set_ahead_changes() -> None:
    # 3 kWh stored above the 1 kWh floor, 1 kWh of load a slot. Free, the battery serves
    # the two dear slots (2 and 3) and the last kWh a cheap one (0.10 beats keeping it).
    prices = [0.10, 0.10, 0.40, 0.40]
    free = plan_with(prices, 0.4)
    assert [s.battery_w for s in free.slots] == [-2000, 0, -2000, -2000]
    # A hold set ahead for slot 2: slot 2 buys its load at 0.40, and the kWh it keeps is
    # spent where it saves most of what is left: the other cheap slot, not slot 3 (full).
    found = held(4, planned=[ahead("hold", 0, START + 2 * STEP, START + 3 * STEP)])
    pinned = plan_with(prices, 0.4, found)
    assert [s.battery_w for s in pinned.slots] == [-2000, -2000, 0, -2000]
    assert pinned.slots[2].mode == "hold" and pinned.slots[2].grid_import_w == 2000
    assert pinned.total_cost - free.total_cost == pytest.approx(0.30)  # 1 kWh at 0.40, not 0.10


def test_the_plan_around_a_schedule_rule_changes() -> None:
    # The battery at its floor; slot 0 cheap, the rest dear. Free, the plan charges 2.5 kWh
    # (5 kW, its limit) in slot 0 for the dear slots' 3 kWh of load.
    prices = [0.10, 0.40, 0.40, 0.40]
    free = plan_with(prices, 0.1)
    assert free.slots[0].battery_w == 5000 and free.slots[0].mode == "force_charge"
    # A rule holding the battery Mondays 00:00-00:30 (UTC) holds slot 0: nothing is bought
    # cheap, and each of those 2.5 kWh costs 0.40 instead of 0.10.
    rule = {"name": "no charging", "days": "mon", "from": "00:00", "to": "00:30", "mode": "hold"}
    found = held(4, settings(schedule=[rule]))
    assert powers(found) == [0.0, None, None, None]
    pinned = plan_with(prices, 0.1, found)
    # (At its floor with no PV a held battery is what self-use does: the slot says so.)
    assert pinned.slots[0].battery_w == 0 and pinned.slots[0].grid_import_w == 2000
    assert pinned.total_cost - free.total_cost == pytest.approx(2.5 * 0.30)
