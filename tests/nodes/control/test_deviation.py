"""Commanded versus actual, as pure logic: what the inverter does against what it was told,
judging only what it could have done."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import pytest

from nodes.control.deviation import (
    Commanded,
    Memory,
    Thresholds,
    Verdict,
    compare,
    target_battery_w,
)
from powermaster.config import DEFAULTS

T0 = 1_768_420_800.0
TICK = 300.0
#: Forcing a 3 kW charge at night: the AC port takes 3000 W in (setpoint -3000).
CHARGE = Commanded("force_charge", T0, setpoint_w=-3000, work_mode=0)
THRESHOLDS = Thresholds()


def settings(**battery: Any) -> dict[str, Any]:
    site = copy.deepcopy(DEFAULTS)
    site["battery"].update(battery)
    return site


def reading(at: float = T0 + TICK, **values: Any) -> dict[str, Any]:
    """The inverter doing the charge as told, at 50 %, unless ``values`` say otherwise."""
    return {
        "timestamp": at,
        "soc": 0.5,
        "pv_w": 0.0,
        "load_w": 600.0,
        "battery_w": 3000.0,
        "grid_w": 3600.0,
        "grid_lost": False,
        "work_mode": 0,
        "remote_enabled": True,
        "remote_setpoint_w": -3000,
        **values,
    }


def judge(
    telemetry: dict[str, Any],
    commanded: Commanded | None = CHARGE,
    memory: Memory | None = None,
    site: dict[str, Any] | None = None,
) -> Verdict:
    memory = memory or Memory(commanded=commanded)
    return compare(telemetry["timestamp"], telemetry, site or settings(), THRESHOLDS, memory)


def checks(verdict: Verdict) -> list[str]:
    return [f.check for f in verdict.findings]


def next_tick(verdict: Verdict, at: float) -> Memory:
    """The memory after this tick's command: the same command again, given at ``at``."""
    held = verdict.memory.commanded
    assert held is not None
    return replace(verdict.memory, commanded=replace(held, at=at))


def test_a_charge_done_as_told_is_ok() -> None:
    verdict = judge(reading())
    assert verdict.findings == () and verdict.expected_battery_w == 3000


def test_a_work_mode_changed_by_someone_else_is_told_at_once() -> None:
    verdict = judge(reading(work_mode=1))
    assert checks(verdict) == ["work_mode"]
    assert verdict.findings[0].reason.startswith(
        "work mode (41000) is Feed-in First (1), not Self Use (0) as set: changed by someone else"
    )
    assert verdict.memory.since == {"work_mode": T0 + TICK}
    later = judge(reading(at=T0 + 2 * TICK, work_mode=1), memory=verdict.memory)
    assert later.memory.since == {"work_mode": T0 + TICK}  # since when, kept
    unknown = Commanded("force_charge", T0, setpoint_w=-3000, work_mode=None)
    assert judge(reading(work_mode=1), unknown).findings == ()  # nothing known to hold it to


def test_a_changed_work_mode_stays_told_until_it_is_left_alone_for_three_ticks() -> None:
    """Put back at each tick, a work mode some scheduler rewrites between ticks reads right
    at some ticks: the check stays degraded until three in a row find it left alone."""
    verdict = judge(reading(work_mode=1))
    fought = [0, 0, 1, 0, 0]  # put back; rewritten once more; then left alone
    for tick, work_mode in enumerate(fought, start=2):
        verdict = judge(
            reading(at=T0 + tick * TICK, work_mode=work_mode),
            memory=next_tick(verdict, T0 + (tick - 1) * TICK),
        )
        assert checks(verdict) == ["work_mode"], tick
        assert verdict.memory.since == {"work_mode": T0 + TICK}  # one departure, not five
    assert verdict.findings[0].reason.startswith(
        "work mode (41000) was changed to Feed-in First (1) by someone else and put back: "
        "left alone for 2 of the 3 ticks"
    )
    calm = judge(reading(at=T0 + 7 * TICK), memory=next_tick(verdict, T0 + 6 * TICK))
    assert calm.findings == () and calm.memory.work_mode_found is None
    stored = Memory.from_dict(verdict.memory.as_dict())
    assert (stored.work_mode_found, stored.work_mode_calm) == (1, 2)  # survives the context


def test_remote_control_dropped_while_a_charge_is_held_is_told_at_once() -> None:
    verdict = judge(reading(remote_enabled=False, battery_w=-600.0, grid_w=0.0))
    assert checks(verdict) == ["remote_control"]
    assert verdict.findings[0].reason == (
        "remote control dropped: 44000 reads 0 while force charge (setpoint -3000 W) is held"
    )


def test_44000_reading_0_while_the_setpoint_is_honoured_is_the_quirk_not_a_drop() -> None:
    verdict = judge(reading(remote_enabled=False))
    assert verdict.findings == ()
    assert any("firmware quirk" in note for note in verdict.notes)


def test_remote_control_on_after_it_was_handed_back_is_someone_else() -> None:
    self_use = Commanded("self_use", T0, work_mode=0)
    verdict = judge(reading(battery_w=-600.0, remote_setpoint_w=2000), self_use)
    assert checks(verdict) == ["remote_control"]
    assert "44000 = 1, setpoint 2000 W" in verdict.findings[0].reason
    assert judge(reading(remote_enabled=False, battery_w=-600.0), self_use).findings == ()


def test_less_than_asked_in_the_same_direction_is_never_judged() -> None:
    """The BMS's current limits, a cold battery: limits only the inverter knows."""
    memory = Memory(commanded=CHARGE)
    for tick in range(1, 6):
        verdict = judge(reading(at=T0 + tick * TICK, battery_w=1200.0, soc=0.5), memory=memory)
        assert verdict.findings == () and verdict.memory.power_off == 0
        memory = next_tick(verdict, T0 + tick * TICK)


def test_the_wrong_direction_is_told_after_power_ticks_in_a_row_and_a_good_tick_resets() -> None:
    memory = Memory(commanded=CHARGE)
    seen = []
    for tick, battery in enumerate((-900, -900, 3000, -900, -900, -900), start=1):
        at = T0 + tick * TICK
        verdict = judge(reading(at=at, battery_w=float(battery)), memory=memory)
        seen.append("power" in checks(verdict))
        memory = next_tick(verdict, at)
    assert seen == [False, False, False, False, False, True]
    assert verdict.findings[0].reason == (
        "battery at -900 W for 3 ticks where force charge (setpoint -3000 W) makes +3000 W"
    )


def test_what_the_inverter_could_not_have_done_is_not_asked_of_it() -> None:
    full = reading(soc=1.0)  # a full battery takes nothing, whatever the setpoint
    assert target_battery_w(CHARGE, full, settings()) == 0
    assert judge({**full, "battery_w": 0.0}).findings == ()
    # Nearly full, the BMS may have stopped taking charge, or may not yet (a backtest
    # charges to soc_max): neither is a fault.
    nearly = reading(soc=0.99)
    assert judge({**nearly, "battery_w": 0.0}).findings == ()
    assert judge({**nearly, "battery_w": 3000.0}).findings == ()
    capped = settings(max_charge_w=2500)
    assert target_battery_w(CHARGE, reading(), capped) == 2500
    sun = reading(pv_w=4000.0)  # PV takes the charge first: battery = PV - setpoint
    assert target_battery_w(CHARGE, sun, settings()) == 5000
    sell = Commanded("force_discharge", T0, setpoint_w=5000, work_mode=0, export_limit_w=1000)
    # 500 W of load and 1000 W of export allowed: the battery can only give 1500 W.
    dusk = reading(load_w=500.0, battery_w=-1500.0, remote_setpoint_w=5000)
    assert target_battery_w(sell, dusk, settings()) == -1500
    assert judge(dusk, sell).findings == ()
    reserve = Commanded("force_discharge", T0, setpoint_w=3000, work_mode=0, min_soc=0.5)
    assert target_battery_w(reserve, reading(soc=0.5), settings()) == 0  # at its floor


def test_more_than_the_grid_allows_is_judged() -> None:
    sell = Commanded("force_discharge", T0, setpoint_w=5000, work_mode=0, export_limit_w=1000)
    memory = Memory(commanded=sell)
    for tick in (1, 2, 3):
        at = T0 + tick * TICK
        dumping = reading(at=at, load_w=500.0, battery_w=-4500.0, soc=0.8 - tick / 100)
        verdict = judge(dumping, memory=memory)
        memory = next_tick(verdict, at)
    assert checks(verdict) == ["power"]


def test_soc_moving_the_wrong_way_over_soc_ticks_is_told() -> None:
    memory = Memory(commanded=CHARGE)
    for tick, soc in enumerate((0.50, 0.49, 0.48, 0.47), start=1):
        # The meter says it charges as told, yet SOC falls: the reading and SOC disagree.
        verdict = judge(reading(at=T0 + tick * TICK, soc=soc), memory=memory)
        memory = next_tick(verdict, T0 + tick * TICK)
    assert checks(verdict) == ["soc"]
    assert verdict.findings[0].reason == (
        "SOC went from 50% to 47% in 15 min while force_charge asks it to rise (battery +3000 W)"
    )


@pytest.mark.parametrize("socs", [(0.50, 0.51, 0.52, 0.53), (0.50, 0.50, 0.495, 0.49)])
def test_soc_rising_or_still_within_the_step_is_fine(socs: tuple[float, ...]) -> None:
    memory = Memory(commanded=CHARGE)
    for tick, soc in enumerate(socs, start=1):
        verdict = judge(reading(at=T0 + tick * TICK, soc=soc), memory=memory)
        memory = next_tick(verdict, T0 + tick * TICK)
    assert "soc" not in checks(verdict)


def test_nothing_is_judged_before_a_command_or_on_a_reading_older_than_it() -> None:
    first = judge(reading(remote_enabled=False, work_mode=2), commanded=None, memory=Memory())
    assert first.findings == () and first.notes == ("nothing commanded yet",)
    stale = judge(reading(at=T0, remote_enabled=False, work_mode=2))  # read before commanding
    assert stale.findings == () and stale.notes == ("telemetry from before the command",)
    assert not stale.judged


def test_remote_control_lapsing_on_our_side_is_noted_not_told() -> None:
    dropped = reading(remote_enabled=False, battery_w=-600.0, grid_w=0.0)
    link_lost = "the Modbus link failed since the command"
    excused = compare(
        T0 + TICK, dropped, settings(), THRESHOLDS, Memory(commanded=CHARGE), link_lost
    )
    assert excused.findings == () and link_lost in excused.notes[-1]
    assert checks(judge({**dropped, "work_mode": 1})) == ["work_mode", "remote_control"]
    old = judge(reading(at=T0 + 13 * 60, remote_enabled=False, battery_w=-600.0))
    assert old.findings == () and old.notes == (
        "the last command is 13 min old: no longer in force",
    )


def test_a_command_read_after_its_own_end_is_not_held_against_the_inverter() -> None:
    # A discharge to a floor ends by itself (its watchdog set to lapse at ``until``): the
    # inverter then runs its own self-use, which is what it was told to do by then.
    discharge = Commanded("force_discharge", T0, setpoint_w=5000, work_mode=0, until=T0 + 240)
    handed_back = reading(remote_enabled=False, battery_w=-600.0, grid_w=0.0)
    ended = judge(handed_back, commanded=discharge)
    assert ended.findings == () and "end passed" in ended.notes[-1]
    early = replace(discharge, until=T0 + TICK + 60)  # still in force when read: dropped
    assert checks(judge(handed_back, commanded=early)) == ["remote_control"]
    stored = Commanded.from_dict(discharge.as_dict())
    assert stored == discharge
    decided = {"until": T0 + 240, "min_soc": 0.1}
    taken = Commanded.from_result({"mode": "force_discharge", "setpoint_w": 5000}, T0, decided)
    assert taken.until == T0 + 240


def test_off_grid_and_without_the_bms_only_the_work_mode_is_judged() -> None:
    off_grid = judge(reading(grid_lost=True, remote_enabled=False, battery_w=-600.0))
    assert off_grid.findings == ()
    no_bms = judge(reading(soc=None, battery_w=None, work_mode=1))
    assert checks(no_bms) == ["work_mode"]  # and no power judged on values nobody knows


def test_a_command_keeps_the_work_mode_an_earlier_one_read_back() -> None:
    first = Commanded.from_result(
        {
            "mode": "force_charge",
            "setpoint_w": -3000,
            "verified": True,
            "written": {41000: 0, 44000: 1},
            "readback": {41000: 0},
        },
        T0,
        {"min_soc": 0.3, "export_limit_w": 0},
    )
    fed = Commanded.from_result(  # only the watchdog fed: 41000 not touched, keys as stored
        {
            "mode": "force_charge",
            "setpoint_w": -3000,
            "verified": True,
            "written": {"44001": 60},
            "readback": {"44000": 1},
        },
        T0 + TICK,
        None,
        first,
    )
    assert (first.work_mode, first.min_soc, first.export_limit_w) == (0, 0.3, 0)
    assert fed.work_mode == 0 and fed.at == T0 + TICK
    assert Commanded.from_dict(fed.as_dict()) == fed
    assert Memory.from_dict(Memory(commanded=fed, power_off=2).as_dict()).power_off == 2
    assert Memory.from_dict({"soc_trail": "nonsense"}) == Memory()
