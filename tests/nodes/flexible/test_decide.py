"""The power a charger is set to now, from the plan's slot, the meter and its limits."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nodes.flexible import flexible_configs
from nodes.flexible.decide import FlexTick, decide
from tests.nodes.flexible.test_settings import CAR, TANK


def config(**change: Any) -> Any:
    return flexible_configs({"flexible_loads": {"car": {**CAR, **change}}})["car"]


def tick(planned: float | None, **kw: Any) -> FlexTick:
    return FlexTick(now=0.0, slot_label="18:30 slot at 21.5c", planned_w=planned, **kw)


def test_the_plan_power_for_the_slot_named_in_the_reason() -> None:
    got = decide(config(), tick(4000, grid_w=4200, needed_kwh=20), 0.0, True)
    assert got.setpoint_w == 4000
    assert got.reason == "plan: 4000 W in the 18:30 slot at 21.5c"


def test_no_car_plugged_in_or_the_target_reached_is_off() -> None:
    assert decide(config(), tick(4000), 0.0, False).reason == "no car plugged in"
    assert decide(config(), tick(4000, needed_kwh=0.0), 0.0, True).setpoint_w == 0


def test_sun_the_plan_did_not_expect_goes_to_the_car_before_the_grid() -> None:
    # Planned 2 kW and no export; drawing 2 kW while 1.5 kW goes out: 3.5 kW.
    got = decide(config(), tick(2000, grid_w=-1500, needed_kwh=20), 2000.0, True)
    assert got.setpoint_w == 3500
    assert "1500 W more sun than planned" in got.reason


def test_export_the_plan_wanted_stays_export() -> None:
    # The plan exports 3 kW this slot (a good feed-in price): only beyond that is spare.
    got = decide(config(), tick(0, grid_w=-3000, planned_export_w=3000, needed_kwh=20), 0, True)
    assert got.setpoint_w == 0


def test_no_plan_charges_at_its_most_inside_its_window() -> None:
    got = decide(config(), tick(None, needed_kwh=20), 0.0, True)
    assert got.setpoint_w == 7200 and "no plan" in got.reason
    outside = decide(config(), tick(None, needed_kwh=20, in_window=False), 0.0, True)
    assert outside.setpoint_w == 0


def test_outside_its_window_no_sun_goes_to_it() -> None:
    # 09:00, the car's window opens at 18:00: 1.5 kW going out stays export.
    got = decide(config(), tick(0, grid_w=-1500, needed_kwh=20, in_window=False), 0.0, None)
    assert got.setpoint_w == 0 and got.reason == "outside its window"


def test_solar_only_follows_the_surplus_and_never_imports() -> None:
    solar = config(mode="solar_only")
    # Drawing 3 kW while importing 500 W: the surplus is 2.5 kW.
    got = decide(solar, tick(3000, grid_w=500, needed_kwh=20), 3000.0, True)
    assert got.setpoint_w == 2500
    # Below its 1.38 kW minimum it stops rather than import.
    assert decide(solar, tick(3000, grid_w=2000, needed_kwh=20), 3000.0, True).setpoint_w == 0
    # Without a meter reading it cannot know the surplus.
    assert decide(solar, tick(3000, needed_kwh=20), 0.0, True).setpoint_w == 0


def test_below_its_minimum_it_runs_at_the_minimum_for_the_slots_share() -> None:
    # 700 W average over 30 min is 0.35 kWh: at 1380 W until that is drawn, then off.
    running = decide(config(), tick(700, needed_kwh=20, slot_kwh=0.1), 1380.0, True)
    assert running.setpoint_w == 1380
    done = decide(config(), tick(700, needed_kwh=20, slot_kwh=0.36), 1380.0, True)
    assert done.setpoint_w == 0 and "0.35 kWh is drawn" in done.reason


def test_steps_and_ramp() -> None:
    stepped = config(step_w=230, ramp_w_per_min=1000)
    assert decide(stepped, tick(4000, needed_kwh=20), 4000.0, True, 4000.0, 5).setpoint_w == 3910
    ramped = decide(stepped, tick(7000, needed_kwh=20), 2000.0, True, 2000.0, 2.0)
    assert ramped.setpoint_w == 4000 and "ramping" in ramped.reason
    # Down at once.
    assert decide(stepped, tick(1380, needed_kwh=20), 6000.0, True, 6000.0, 0.1).setpoint_w == 1380


def test_a_relay_diverter_is_on_at_its_power_or_off() -> None:
    tank = flexible_configs({"flexible_loads": {"tank": {**TANK, "mode": "cheapest"}}})["tank"]
    assert decide(tank, tick(3600, needed_kwh=6), 0.0, None).setpoint_w == 3600
    # 1.8 kW average: on for half the slot (0.9 kWh), then off.
    assert decide(tank, tick(1800, needed_kwh=6, slot_kwh=0.5), 3600.0, None).setpoint_w == 3600
    assert decide(tank, tick(1800, needed_kwh=6, slot_kwh=0.9), 3600.0, None).setpoint_w == 0


@given(
    planned=st.one_of(st.none(), st.floats(0, 20000)),
    grid=st.one_of(st.none(), st.floats(-15000, 15000)),
    drawing=st.floats(0, 12000),
    solar=st.booleans(),
    slot_kwh=st.floats(0, 5),
    last=st.floats(0, 8000),
    minutes=st.floats(0, 60),
)
def test_never_outside_the_device_limits(
    planned: float | None,
    grid: float | None,
    drawing: float,
    solar: bool,
    slot_kwh: float,
    last: float,
    minutes: float,
) -> None:
    c = config(mode="solar_only" if solar else "cheapest", step_w=230, ramp_w_per_min=500)
    got = decide(
        c,
        tick(planned, grid_w=grid, needed_kwh=10, slot_kwh=slot_kwh),
        drawing,
        True,
        last,
        minutes,
    )
    assert got.setpoint_w == 0 or c.min_w <= got.setpoint_w <= c.max_w
    if solar and got.setpoint_w > 0:
        assert grid is not None
        # Never more than the surplus now (what it draws plus export, less import).
        assert got.setpoint_w <= drawing - grid + 1e-6
    assert got.setpoint_w == pytest.approx(got.setpoint_w)  # a number, never NaN


def test_a_battery_exporting_at_night_is_no_sun_for_the_car() -> None:
    # 22:30: 121 W going out from the battery, no PV. (A stranger saw 1380 W, then 0.)
    night = tick(0, grid_w=-121, needed_kwh=20, pv_w=0.0)
    assert decide(config(), night, 0.0, True).setpoint_w == 0


def test_sun_too_little_to_run_the_charger_stays_export() -> None:
    # 800 W spare sun cannot start a 1380 W charger: it is not started for it.
    assert (
        decide(config(), tick(0, grid_w=-800, needed_kwh=20, pv_w=3000), 0.0, True).setpoint_w == 0
    )


def test_a_plan_crumb_is_not_worth_starting_for() -> None:
    # 8 W planned for the slot (solver noise): not 1380 W for a few seconds.
    assert decide(config(), tick(8, needed_kwh=20), 0.0, True).setpoint_w == 0


def test_in_its_last_hour_a_hard_target_runs_at_the_pace_that_meets_it() -> None:
    # 2 kWh still to go and 30 minutes left, the plan saying 3 kW: 4 kW meets it.
    late = tick(3000, needed_kwh=2.0, hours_left=0.5)
    got = decide(config(), late, 3000.0, True)
    assert got.setpoint_w == 4000 and "2.0 kWh still to go in 0.50 h" in got.reason
    # Earlier than that the plan's slots still have room: no catching up.
    assert decide(config(), tick(3000, needed_kwh=2.0, hours_left=3), 0, True).setpoint_w == 3000
    # A soft target is a price, not a promise.
    soft = config(target={"soc": 0.8, "by": "07:30", "hard": False})
    assert decide(soft, late, 3000.0, True).setpoint_w == 3000
