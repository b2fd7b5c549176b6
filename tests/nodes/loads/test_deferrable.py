"""The loads as the planner's deferrable loads, and the plan's answer back to the manager."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from nodes.loads import run_today
from nodes.loads.manager import Observation, Tick, decide
from nodes.loads.settings import load_configs
from nodes.planning import BatterySpec, DeferrableLoad, GridSpec, PlanInputs, solve_plan
from nodes.planning.deferrable import deferrable_loads
from tests.nodes.loads.manager_sim import BRISBANE, local

MQTT = {"adapter": "mqtt", "command_topic": "c", "state_topic": "s"}
SITE: dict[str, Any] = {
    "site": {"timezone": "Australia/Brisbane"},
    "loads": {
        "pool": {
            **MQTT,
            "power_w": 1100,
            "run_time": "4h",
            "window": {"from": "10:00", "to": "16:00"},
        },
        "water": {
            **MQTT,
            "power_w": 3600,
            "run_time": "3h",
            "priority": "essential",
            "window": {"from": "22:00", "to": "06:00"},
        },
        "dryer": {**MQTT, "power_w": 2400, "priority": "opportunistic"},
        "fridge": {**MQTT, "power_w": 150, "run_time": "90m", "priority": "essential"},
    },
}


def half_hours(first: str, count: int) -> list[datetime]:
    start = datetime.fromtimestamp(local(first), UTC)
    return [start + timedelta(minutes=30 * i) for i in range(count)]


def by_name(found: list[DeferrableLoad]) -> dict[str, DeferrableLoad]:
    return {d.name: d for d in found}


def test_each_planned_load_gets_its_window_as_slot_indices() -> None:
    starts = half_hours("2025-06-10T08:00", 96)  # 08:00 today to 08:00 in two days
    found = by_name(deferrable_loads(SITE, starts))

    assert set(found) == {"pool", "water", "fridge"}  # the dryer only follows the sun
    assert found["pool"] == DeferrableLoad("pool", 1100, 8, (4, 15), priority=1)  # 10:00-15:30
    assert found["water"] == DeferrableLoad("water", 3600, 6, (28, 43), priority=2)  # 22:00-05:30
    # No window: the rest of today from now (08:00) to midnight.
    assert found["fridge"] == DeferrableLoad("fridge", 150, 3, (0, 31), priority=2)


def test_what_has_run_today_is_taken_off() -> None:
    starts = half_hours("2025-06-10T12:00", 96)
    found = by_name(deferrable_loads(SITE, starts, {"pool": 5400.0, "fridge": 3600.0}))

    assert found["pool"] == DeferrableLoad("pool", 1100, 5, (0, 7), priority=1)  # 2.5 h in 12-16
    assert found["fridge"].run_slots == 1


def test_a_finished_or_passed_window_plans_the_next_day() -> None:
    starts = half_hours("2025-06-10T17:00", 96)
    found = by_name(deferrable_loads(SITE, starts, {"water": 3 * 3600.0}))

    assert found["pool"].window == (34, 45)  # tomorrow 10:00-16:00
    assert found["pool"].run_slots == 8
    assert found["water"].window == (10, 25)  # tonight: today's run day began at 22:00 yesterday
    assert found["water"].run_slots == 6


def test_a_window_beyond_the_horizon_is_left_out() -> None:
    starts = half_hours("2025-06-10T17:00", 8)  # 17:00-21:00 only
    assert set(by_name(deferrable_loads(SITE, starts))) == {"fridge"}


def test_run_today_ignores_a_count_from_an_earlier_run_day() -> None:
    record = {
        "pool": {"run_today_s": 3600.0, "day_start": local("2025-06-10T00:00")},
        "water": {"run_today_s": 1800.0, "day_start": local("2025-06-09T22:00")},
        "gone": {"run_today_s": 99.0, "day_start": 0.0},
    }
    assert run_today(record, SITE, local("2025-06-10T12:00")) == {"pool": 3600.0, "water": 1800.0}
    assert run_today(record, SITE, local("2025-06-10T23:00")) == {"pool": 3600.0, "water": 0.0}


def test_the_planner_places_the_load_and_the_manager_follows_the_plan() -> None:
    site = {"site": SITE["site"], "loads": {"pool": SITE["loads"]["pool"]}}
    starts = half_hours("2025-06-10T08:00", 24)  # 08:00-20:00
    cheap = [0.30] * 8 + [0.05] * 8 + [0.01] * 4 + [0.30] * 4  # cheapest 16:00-18:00: too late
    inputs = PlanInputs(
        slot_starts=starts,
        import_price=cheap,
        export_price=[0.0] * 24,
        pv_w=[0.0] * 24,
        load_w=[500.0] * 24,
        soc_now=0.1,
        battery=BatterySpec(10.0, 0.0, 0.0, soc_min=0.1),
        grid=GridSpec(10000, 5000),
        deferrable=deferrable_loads(site, starts),
    )
    plan = solve_plan(inputs).to_dict()

    assert plan["deferrable"]["pool"] == [8, 9, 10, 11, 12, 13, 14, 15]  # 12:00-16:00
    configs = load_configs(site)
    for hhmm, wanted in (("11:55", False), ("12:00", True), ("15:55", True)):
        tick = Tick(
            local(f"2025-06-10T{hhmm}"), BRISBANE, plan, observed={"pool": Observation(False, 0.0)}
        )
        assert decide(configs, tick, {})[0]["pool"].desired is wanted, hhmm
