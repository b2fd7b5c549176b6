"""The site model: per-mode power rules, hard limits, exact integration, watchdog."""

from __future__ import annotations

from datetime import datetime
from typing import cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowengine.clock import VirtualClock
from nodes.replay.profile import SampleProfile
from powermaster.sim.dispatch import WorkMode
from powermaster.sim.meter import LOCAL_TZ
from powermaster.sim.site import Battery, ConstantProfile, FunctionProfile, Grid, SiteModel

T0 = 1_748_743_200.0  # 2025-06-01 12:00 +10:00, a slot boundary
HOUR = 3600.0


def site(pv: float, load: float, **battery: float) -> SiteModel:
    spec = {
        "capacity_kwh": 10.0,
        "max_charge_w": 3000.0,
        "max_discharge_w": 3000.0,
        "charge_efficiency": 1.0,
        "discharge_efficiency": 1.0,
        "soc_initial": 0.5,
    } | battery
    return SiteModel(
        ConstantProfile(pv, load), T0, Battery(**spec), Grid(max_import_w=10000, max_export_w=5000)
    )


def test_self_use_charges_from_surplus_and_exports_the_rest() -> None:
    model = site(6000, 1000)
    model.advance_to(T0 + HOUR)
    energy = model.meter.total
    assert energy.battery_charge == pytest.approx(3000)
    assert energy.grid_export == pytest.approx(2000)
    assert energy.grid_import == 0
    assert model.soc == pytest.approx(0.8)


def test_self_use_curtails_pv_beyond_the_export_limit_when_full() -> None:
    model = site(9000, 1000, soc_initial=1.0)
    model.advance_to(T0 + HOUR)
    assert model.meter.total.grid_export == pytest.approx(5000)
    assert model.meter.total.pv_curtailed == pytest.approx(3000)
    assert model.soc == 1.0


@pytest.mark.parametrize("soc", [0.5, 1.0])
def test_self_use_curtails_export_at_the_inverters_own_limit(soc: float) -> None:
    model = site(9000, 1000, soc_initial=soc)
    model.set_setting("export_limit_w", 1200, T0)  # 46616/46617
    model.advance_to(T0 + HOUR)
    charged = 3000 if soc < 1 else 0  # the battery still takes what it can first
    assert model.meter.total.grid_export == pytest.approx(1200)
    assert model.meter.total.battery_charge == pytest.approx(charged)
    assert model.meter.total.pv_curtailed == pytest.approx(9000 - 1000 - 1200 - charged)


@pytest.mark.parametrize("mode", [WorkMode.SELF_USE, WorkMode.FEED_IN_FIRST, None])
def test_a_zero_export_limit_holds_in_every_mode(mode: WorkMode | None) -> None:
    model = site(9000, 1000, soc_initial=1.0)
    model.set_setting("export_limit_w", 0, T0)
    if mode is None:  # remote control asking for a 6 kW AC output
        model.write_remote(T0, enabled=True, timeout_s=0, setpoint_w=6000)
    else:
        model.set_work_mode(mode, T0)
    model.advance_to(T0 + HOUR)
    assert model.meter.total.grid_export == 0
    assert model.meter.total.battery_discharge == 0  # no stored energy pushed at the grid


def test_an_export_limit_above_the_grids_changes_nothing() -> None:
    model = site(9000, 1000, soc_initial=1.0)
    model.set_setting("export_limit_w", 8000, T0)
    assert model.limits().export_w == 5000


def test_self_use_stops_discharging_at_min_soc_on_grid_at_the_exact_instant() -> None:
    model = site(0, 2000, soc_initial=0.3, discharge_efficiency=0.95)
    model.settings.min_soc_on_grid_pct = 25
    model.advance_to(T0 + HOUR)
    delivered = 0.05 * 10_000 * 0.95  # Wh the battery can give before the floor
    assert model.soc == 0.25
    assert model.meter.total.battery_discharge == pytest.approx(delivered)
    assert model.meter.total.grid_import == pytest.approx(2000 - delivered)


def test_feed_in_first_exports_before_charging() -> None:
    model = site(8000, 1000)
    model.set_work_mode(WorkMode.FEED_IN_FIRST, T0)
    model.advance_to(T0 + HOUR)
    assert model.meter.total.grid_export == pytest.approx(5000)
    assert model.meter.total.battery_charge == pytest.approx(2000)


def test_back_up_holds_the_battery_and_charges_from_pv_only() -> None:
    model = site(0, 2000)
    model.set_work_mode(WorkMode.BACK_UP, T0)
    model.advance_to(T0 + HOUR)
    assert model.meter.total.battery_discharge == 0
    assert model.soc == 0.5
    model.profile = ConstantProfile(2500, 500)
    model.advance_to(T0 + 2 * HOUR)
    assert model.meter.total.battery_charge == pytest.approx(2000)
    assert model.meter.total.grid_import == pytest.approx(2000)


def test_remote_negative_setpoint_charges_from_grid() -> None:
    model = site(0, 500)
    model.write_remote(T0, enabled=True, timeout_s=0, setpoint_w=-2500)
    flows = model.flows()
    assert flows.battery_w == 2500
    assert flows.grid_w == 3000
    assert flows.ac_out_w == -2500


def test_remote_charge_displaces_pv_when_the_battery_cannot_absorb() -> None:
    model = site(4000, 500)
    model.write_remote(T0, enabled=True, timeout_s=0, setpoint_w=-1000)
    flows = model.flows()
    assert flows.battery_w == 3000  # charge limit
    assert flows.pv_used_w == 2000  # AC output stays at the -1000 W setpoint
    assert flows.curtailed_w == 2000
    assert flows.grid_w == 1500


def test_remote_discharge_is_held_to_the_export_limit() -> None:
    model = site(3000, 0, max_discharge_w=5000)
    model.write_remote(T0, enabled=True, timeout_s=0, setpoint_w=8000)
    flows = model.flows()
    assert flows.export_w == 5000
    assert flows.battery_w == -2000


def test_remote_charging_ignores_max_soc_setting_but_not_the_hard_limit() -> None:
    model = site(0, 0, soc_initial=0.85, soc_max=0.95)
    model.settings.max_soc_pct = 90
    model.write_remote(T0, enabled=True, timeout_s=0, setpoint_w=-3000)
    model.advance_to(T0 + HOUR)
    assert model.soc == 0.95
    assert model.meter.total.battery_charge == pytest.approx(1000)


def test_max_discharge_current_zero_stops_discharge() -> None:
    model = site(0, 2000)
    model.set_setting("max_discharge_current_da", 0, T0)
    model.advance_to(T0 + HOUR)
    assert model.meter.total.battery_discharge == 0
    assert model.meter.total.grid_import == pytest.approx(2000)


def test_charge_current_limits_battery_power_through_nominal_voltage() -> None:
    model = site(6000, 0, nominal_voltage_v=200.0)
    model.set_setting("max_charge_current_da", 50, T0)  # 5.0 A x 200 V = 1000 W
    assert model.flows().battery_w == 1000


def test_grid_loss_serves_the_house_from_pv_and_battery_then_sheds() -> None:
    model = site(0, 2000, soc_initial=0.2)
    model.set_grid_lost(True, T0)
    model.advance_to(T0 + HOUR)
    total = model.meter.total
    assert total.grid_import == total.grid_export == 0
    assert total.battery_discharge == pytest.approx(1000)  # 0.2 -> 0.1 of 10 kWh
    assert total.load_shed == pytest.approx(1000)
    assert model.mode_label == "off_grid"
    assert abs(total.imbalance()) < 1e-9


async def test_watchdog_expires_at_the_right_instant_and_falls_back_to_41000() -> None:
    clock = VirtualClock(T0)
    model = site(0, 0)
    model.set_work_mode(WorkMode.BACK_UP, clock.time())
    model.write_remote(clock.time(), enabled=True, timeout_s=60, setpoint_w=1800)
    await clock.advance(59)
    model.advance_to(clock.time())
    assert model.remote.enabled
    await clock.advance(1)
    model.advance_to(clock.time())
    assert not model.remote.enabled
    assert model.mode_label == "back_up"
    await clock.advance(HOUR)
    model.advance_to(clock.time())
    assert model.meter.total.battery_discharge == pytest.approx(1800 * 60 / HOUR)
    assert model.flows().battery_w == 0


def test_result_does_not_depend_on_how_often_it_is_polled() -> None:
    def run(steps: list[float]) -> dict[str, float]:
        model = site(2500, 1500, soc_initial=0.9)
        model.write_remote(T0, enabled=True, timeout_s=700, setpoint_w=4000)
        for t in steps:
            model.advance_to(T0 + t)
        return model.meter.total.as_dict() | {"soc": model.soc}

    once = run([5 * HOUR])
    often = run([i * 7.3 for i in range(1, int(5 * HOUR / 7.3))] + [5 * HOUR])
    assert often == pytest.approx(once, abs=1e-6)


def test_slot_buckets_carry_energy_soc_and_mode() -> None:
    model = site(6000, 1000)
    model.advance_to(T0 + 1000)
    model.write_remote(T0 + 1000, enabled=True, timeout_s=0, setpoint_w=-3000)
    model.advance_to(T0 + HOUR)
    first, second = model.meter.slots[int(T0)], model.meter.slots[int(T0 + 1800)]
    assert first.mode == "remote" and second.mode == "remote"
    assert second.soc_end == model.soc
    assert first.energy.battery_charge == pytest.approx(3000 * 1800 / HOUR)
    assert sum(s.energy.pv for s in model.meter.slots.values()) == pytest.approx(6000)


def test_sample_profile_maps_any_date_onto_the_data() -> None:
    profile = SampleProfile.from_csv()

    def at(text: str) -> tuple[float, float]:
        return profile(datetime.fromisoformat(text).replace(tzinfo=LOCAL_TZ).timestamp())

    late_pv, late_load = at("2025-12-10T23:40")
    assert late_pv == 0.0 and late_load == pytest.approx(0.3411 * 2000)
    assert at("2027-12-10T23:40") == at("2025-12-10T23:40")
    assert at("2026-12-20T12:00") == at("2024-12-20T12:00")  # 2025-12-20 is not in the data
    assert at("2028-02-29T12:00") == at("2025-02-28T12:00")
    noon_pv, _ = at("2026-01-15T12:15")
    assert noon_pv == at("2026-01-15T12:45")[0] > 1000  # hourly PV holds for both halves


# -- property: limits and balance hold for any sequence of commands --

OPS = st.one_of(
    st.tuples(st.just("mode"), st.sampled_from(list(WorkMode))),
    st.tuples(
        st.just("remote"), st.tuples(st.booleans(), st.integers(0, 900), st.integers(-12000, 12000))
    ),
    st.tuples(
        st.just("setting"),
        st.tuples(
            st.sampled_from(
                [
                    "max_charge_current_da",
                    "max_discharge_current_da",
                    "max_soc_pct",
                    "min_soc_on_grid_pct",
                    "min_soc_pct",
                ]
            ),
            st.integers(0, 100),
        ),
    ),
    st.tuples(st.just("setting"), st.tuples(st.just("export_limit_w"), st.integers(0, 6000))),
    st.tuples(st.just("grid_lost"), st.booleans()),
    st.tuples(st.just("wait"), st.just(None)),
)


@settings(max_examples=150, deadline=None)
@given(
    slots=st.lists(st.tuples(st.floats(0, 12000), st.floats(0, 15000)), min_size=1, max_size=12),
    steps=st.lists(st.tuples(st.floats(0, 4000), OPS), max_size=25),
    soc=st.floats(0.1, 0.95),
    eff=st.floats(0.8, 1.0),
)
def test_soc_limits_power_limits_and_energy_balance_always_hold(
    slots: list[tuple[float, float]],
    steps: list[tuple[float, tuple[str, object]]],
    soc: float,
    eff: float,
) -> None:
    profile = FunctionProfile(lambda t: slots[int((t - T0) // 1800) % len(slots)])
    battery = Battery(
        capacity_kwh=5,
        max_charge_w=4000,
        max_discharge_w=3500,
        charge_efficiency=eff,
        discharge_efficiency=eff,
        soc_min=0.1,
        soc_max=0.95,
        soc_initial=soc,
    )
    grid = Grid(max_import_w=9000, max_export_w=4000)
    model = SiteModel(profile, T0, battery, grid)
    t = T0
    for wait, (op, arg) in steps:
        t += wait
        if op == "mode":
            model.set_work_mode(cast(WorkMode, arg), t)
        elif op == "remote":
            enabled, timeout, setpoint = cast(tuple[bool, int, int], arg)
            model.write_remote(t, enabled=enabled, timeout_s=timeout, setpoint_w=setpoint)
        elif op == "setting":
            name, value = cast(tuple[str, int], arg)
            model.set_setting(name, value, t)
        elif op == "grid_lost":
            model.set_grid_lost(bool(arg), t)
        else:
            model.advance_to(t)
        assert battery.soc_min <= model.soc <= battery.soc_max
        flows = model.flows()
        assert flows.charge_w <= battery.max_charge_w + 1e-9
        assert flows.discharge_w <= battery.max_discharge_w + 1e-9
        assert flows.import_w <= grid.max_import_w + 1e-9
        assert flows.export_w <= model.export_limit_w + 1e-9 <= grid.max_export_w + 1e-9
        assert 0 <= flows.pv_used_w <= flows.pv_w + 1e-9
        assert 0 <= flows.load_served_w <= flows.load_w + 1e-9
    assert abs(model.meter.total.imbalance()) < 1e-6
    for record in model.meter.slots.values():
        assert abs(record.energy.imbalance()) < 1e-6
        assert battery.soc_min <= record.soc_end <= battery.soc_max
