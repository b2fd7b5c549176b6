"""Anti-oscillation by hand: minimum hold per mode, changes per window, safety never waits."""

from __future__ import annotations

import json
from typing import Any

from nodes.control.decision import Decision
from nodes.control.settings import ControlSettings
from nodes.control.stability import StabilityState, record, stabilise
from nodes.control.tick import control_tick
from tests.nodes.control.situations import WEDNESDAY_3PM, plan_slot, site, situation

MINUTE = 60.0
OPTIONS = ControlSettings.from_settings(site())


def in_force(mode: str, since: float, changes: tuple[float, ...] = ()) -> StabilityState:
    decision = {"mode": mode, "power_w": 3000.0, "battery_w": 3000.0, "level": "plan"}
    return StabilityState(mode, since, changes or (since,), decision)


def test_nothing_in_force_takes_anything() -> None:
    wanted = Decision("force_charge", 3000, "plan", "cheap")
    assert stabilise(wanted, StabilityState(), 0.0, OPTIONS) is wanted


def test_a_mode_is_held_for_its_minimum_time() -> None:
    state = in_force("force_charge", since=0.0)
    wanted = Decision("self_use", 0, "plan", "peak over")
    early = stabilise(wanted, state, 9 * MINUTE, OPTIONS)
    assert (early.mode, early.level, early.battery_w) == ("force_charge", "plan", 3000.0)
    assert early.reason.startswith("kept force_charge: in force for 9 min of its minimum 10 min")
    assert "plan asked for self_use (peak over)" in early.reason
    assert stabilise(wanted, state, 10 * MINUTE, OPTIONS) is wanted


def test_the_same_mode_with_new_power_is_no_change() -> None:
    wanted = Decision("force_charge", 1000, "plan", "less now")
    assert stabilise(wanted, in_force("force_charge", since=0.0), 60.0, OPTIONS) is wanted


def test_min_hold_per_mode() -> None:
    options = ControlSettings.from_settings(site(min_hold={"force_discharge": "30m"}))
    wanted = Decision("self_use", 0, "plan", "")
    state = in_force("force_discharge", since=0.0)
    assert stabilise(wanted, state, 20 * MINUTE, options).mode == "force_discharge"
    assert stabilise(wanted, state, 30 * MINUTE, options).mode == "self_use"
    # Modes not named keep the default 10 minutes.
    assert stabilise(wanted, in_force("hold", 0.0), 10 * MINUTE, options).mode == "self_use"


def test_at_most_so_many_changes_per_window() -> None:
    options = ControlSettings.from_settings(
        site(min_hold=0, max_mode_changes=3, mode_change_window="1h")
    )
    state = in_force("hold", since=40 * MINUTE, changes=(0.0, 20 * MINUTE, 40 * MINUTE))
    wanted = Decision("force_charge", 2000, "plan", "")
    full = stabilise(wanted, state, 50 * MINUTE, options)
    assert full.mode == "hold"
    assert "3 mode changes in the last 60 min (at most 3)" in full.reason
    # The first change leaves the window an hour after it was made.
    assert stabilise(wanted, state, 60 * MINUTE, options) is wanted


def test_safety_storm_and_critical_never_wait() -> None:
    options = ControlSettings.from_settings(site(max_mode_changes=1))
    state = in_force("force_discharge", since=0.0, changes=(0.0,))
    for level in ("safety", "storm", "critical"):
        wanted = Decision("self_use", 0, level, "protect")
        assert stabilise(wanted, state, 1.0, options) is wanted


def test_record_keeps_the_mode_in_force_and_its_changes() -> None:
    state = record(StabilityState(), Decision("self_use", 0, "plan", ""), 100.0, OPTIONS)
    assert (state.mode, state.since, state.changes) == ("self_use", 100.0, (100.0,))
    same = record(state, Decision("self_use", 0, "plan", ""), 400.0, OPTIONS)
    assert (same.since, same.changes) == (100.0, (100.0,))
    changed = record(same, Decision("hold", 0, "plan", "", 0.0), 5000.0, OPTIONS)
    assert (changed.since, changed.changes) == (5000.0, (5000.0,))  # the hour-old one aged out
    assert StabilityState.from_dict(changed.as_dict()) == changed


def test_unreadable_state_starts_afresh() -> None:
    junk: list[Any] = [None, [], {"mode": 3}, {"mode": "hold", "since": "soon"}]
    for value in junk:
        assert StabilityState.from_dict(value) == StabilityState()


def test_an_unknown_plan_mode_without_export_starts_the_hold_in_zero_export() -> None:
    """The hold property's counterexample: with no export allowed, a plan slot in an unknown
    mode went out as plain self-use (safety), so the next second's kept self-use was renamed
    zero-export by the limits, a change at level plan 1 s into a 10 min hold."""
    settings = site(min_hold="10m", max_mode_changes=1, critical_soc=0.0)
    settings["battery"].update(soc_min=0.0, soc_max=1.0)
    settings["grid"].update(max_import_w=0.0, max_export_w=0.0)
    quiet = {"soc": 0.0, "pv_w": 0.0, "load_w": 0.0}
    first_at, second_at = WEDNESDAY_3PM + 1, WEDNESDAY_3PM + 2
    first = control_tick(
        situation(
            first_at, settings, telemetry=quiet, plan=plan_slot(first_at, "turbo", battery_w=None)
        ),
        StabilityState(),
    )
    assert (first.decision.mode, first.decision.level) == ("self_use_zero_export", "safety")
    assert first.decision.reason == "unknown mode 'turbo': self-use"
    # A restart in between, and an override that ends this very second.
    state = StabilityState.from_dict(json.loads(json.dumps(first.state.as_dict())))
    override = {"mode": "self_use", "power_w": None, "until": second_at, "source": "api"}
    second = control_tick(
        situation(
            second_at,
            settings,
            latched=state.latched,
            telemetry=quiet,
            plan=plan_slot(second_at, "self_use", battery_w=None),
            override=override,
        ),
        state,
    )
    assert (second.decision.mode, second.decision.level) == ("self_use_zero_export", "plan")
    assert second.state.since == first_at
    assert second.state.changes == (first_at,)
