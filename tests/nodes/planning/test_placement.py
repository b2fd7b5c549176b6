"""Where each flexible load goes in the plan's horizon, and how much it still needs.

Brisbane time (no daylight saving), half-hour slots.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from nodes.flexible import flexible_configs
from nodes.planning.placement import place, place_all
from tests.nodes.flexible.test_settings import CAR, TANK

BNE = ZoneInfo("Australia/Brisbane")
SLOT = 1800.0


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=BNE).timestamp()


def starts(first: str, n: int = 48) -> list[float]:
    return [at(first) + i * SLOT for i in range(n)]


def config(raw: dict[str, Any], load_id: str = "car") -> Any:
    return flexible_configs({"flexible_loads": {load_id: raw}})[load_id]


def test_a_car_home_at_5pm_charges_from_6pm_until_7_30_next_morning() -> None:
    now = at("2025-03-03T17:00")  # a Monday
    placed = place(
        config(CAR), {"soc": 0.3, "plugged": True}, starts("2025-03-03T17:00"), SLOT, now, BNE
    )
    assert placed.deadline == at("2025-03-04T07:30")
    assert placed.load is not None
    assert placed.load.window == (2, 28)  # 18:00 to the slot ending 07:30
    # A car's 30 % may be 29.5 % (whole percent): planned from there.
    assert placed.load.energy_kwh == pytest.approx((0.8 - 0.295) * 60 / 0.9)
    assert placed.load.min_w == 1380 and not placed.load.from_battery
    assert placed.why == "car: 80% from 30% by Tue 07:30"  # 29.5 % shown to the percent


def test_no_weekend_deadline_friday_night_leaves_the_car_out_of_a_48h_plan() -> None:
    now = at("2025-03-07T17:00")  # a Friday: the next deadline is Monday 07:30
    placed = place(config(CAR), {"soc": 0.3}, starts("2025-03-07T17:00"), SLOT, now, BNE)
    assert placed.deadline == at("2025-03-10T07:30")
    assert placed.load is None
    assert placed.why.endswith("no slot in the horizon")


def test_a_car_not_plugged_in_is_planned_from_the_next_slot() -> None:
    now = at("2025-03-03T19:10")
    placed = place(
        config(CAR), {"soc": 0.3, "plugged": False}, starts("2025-03-03T19:00"), SLOT, now, BNE
    )
    assert placed.load is not None and placed.load.window[0] == 1


def test_a_car_that_reports_no_soc_is_assumed_at_its_assumed_soc_plus_what_it_drew() -> None:
    now = at("2025-03-03T20:00")
    state = {
        "soc": None,
        "plugged": True,
        "session_start": at("2025-03-03T18:00"),
        "session_kwh": 10.0,
    }
    placed = place(config(CAR), state, starts("2025-03-03T20:00"), SLOT, now, BNE)
    soc_now = 0.3 + 10.0 * 0.9 / 60
    assert placed.energy_kwh == pytest.approx((0.8 - soc_now) * 60 / 0.9)


def test_a_tank_needs_its_energy_less_what_it_drew_since_its_window_opened() -> None:
    now = at("2025-03-03T02:00")
    state = {"session_start": at("2025-03-03T00:30"), "session_kwh": 2.5}
    placed = place(config(TANK, "tank"), state, starts("2025-03-03T02:00"), SLOT, now, BNE)
    assert placed.deadline == at("2025-03-03T06:00")
    assert placed.energy_kwh == pytest.approx(3.5)
    assert placed.load is not None and placed.load.window == (0, 7)
    assert placed.load.solar_only and not placed.load.hard


def test_yesterdays_session_does_not_count_towards_today() -> None:
    now = at("2025-03-04T02:00")
    state = {"session_start": at("2025-03-03T00:30"), "session_kwh": 5.0}
    placed = place(config(TANK, "tank"), state, starts("2025-03-04T02:00"), SLOT, now, BNE)
    assert placed.energy_kwh == pytest.approx(6.0)


def test_a_one_off_target_replaces_the_next_deadline() -> None:
    now = at("2025-03-03T17:00")
    one_off = {"by": at("2025-03-03T22:00"), "soc": 0.5}
    placed = place(config(CAR), {"soc": 0.3}, starts("2025-03-03T17:00"), SLOT, now, BNE, one_off)
    assert placed.deadline == at("2025-03-03T22:00")
    assert placed.load is not None and placed.load.window == (2, 9)
    assert placed.energy_kwh == pytest.approx((0.5 - 0.295) * 60 / 0.9)


def test_a_past_one_off_target_is_ignored() -> None:
    now = at("2025-03-03T17:00")
    one_off = {"by": at("2025-03-03T16:00"), "soc": 0.5}
    placed = place(config(CAR), {"soc": 0.3}, starts("2025-03-03T17:00"), SLOT, now, BNE, one_off)
    assert placed.deadline == at("2025-03-04T07:30")


def test_a_deadline_past_the_horizon_gives_the_horizon_its_share() -> None:
    now = at("2025-03-03T18:00")
    placed = place(config(CAR), {"soc": 0.3}, starts("2025-03-03T18:00", 14), SLOT, now, BNE)
    # 7 of the window's 13.5 hours are in the horizon.
    assert placed.load is not None
    assert placed.load.energy_kwh == pytest.approx((0.8 - 0.295) * 60 / 0.9 * 7 / 13.5)


def test_a_car_already_at_its_target_is_not_planned() -> None:
    now = at("2025-03-03T19:00")
    placed = place(config(CAR), {"soc": 0.85}, starts("2025-03-03T19:00"), SLOT, now, BNE)
    assert placed.load is None and placed.energy_kwh == 0


def test_place_all_reads_the_site_and_its_states() -> None:
    settings = {
        "site": {"timezone": "Australia/Brisbane"},
        "flexible_loads": {"car": CAR, "tank": TANK},
    }
    now = at("2025-03-03T17:00")
    placed = place_all(
        settings,
        starts("2025-03-03T17:00"),
        SLOT,
        now,
        {"car": {"soc": 0.7}},
        {"tank": {"by": at("2025-03-03T23:00"), "energy_kwh": 1.0}},
    )
    by_id = {p.id: p for p in placed}
    assert by_id["car"].energy_kwh == pytest.approx((0.8 - 0.695) * 60 / 0.9)
    assert by_id["tank"].deadline == at("2025-03-03T23:00")
    assert place_all({}, starts("2025-03-03T17:00"), SLOT, now) == []


def test_a_slow_soc_feed_counts_what_the_car_drew_since_it_spoke() -> None:
    # The car said 70 % (69.5 % at worst) when the session had drawn 2 kWh; it has drawn
    # 8 since: 69.5 % plus 6 kWh x 0.9 / 60 kWh = 78.5 %, so 1 kWh (not 7) more to 80 %.
    now = at("2025-03-03T23:00")
    state = {
        "soc": 0.7,
        "soc_kwh": 2.0,
        "session_kwh": 8.0,
        "plugged": True,
        "session_start": at("2025-03-03T18:00"),
    }
    placed = place(config(CAR), state, starts("2025-03-03T23:00"), SLOT, now, BNE)
    assert placed.energy_kwh == pytest.approx((0.8 - 0.785) * 60 / 0.9)


def test_a_plan_made_late_in_a_slot_still_uses_what_is_left_of_it() -> None:
    # 19:47: 13 of the 19:30 slot's 30 minutes are left; the car may use them.
    now = at("2025-03-03T19:47")
    placed = place(config(CAR), {"soc": 0.3}, starts("2025-03-03T19:30"), SLOT, now, BNE)
    assert placed.load is not None and placed.load.window[0] == 0
    assert placed.load.first_share == pytest.approx(13 / 30)
