"""Whatever is asked, the command that leaves the hierarchy is inside hard limits."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from nodes.control.decision import (
    INVERTER_LED,
    MODES,
    Decision,
    Limits,
    enforce_limits,
    inverter_command,
)
from nodes.control.hierarchy import plan_decision, safety_override
from powermaster.config import DEFAULTS

LIMITS = Limits(
    soc_min=0.1,
    soc_max=1.0,
    soc_margin=0.02,
    max_charge_w=5000,
    max_discharge_w=5000,
    max_import_w=15000,
    max_export_w=5000,
)

anything = st.floats(allow_nan=True, allow_infinity=True, width=64)
watts = st.floats(min_value=0, max_value=20000)


@given(
    mode=st.sampled_from([*MODES, "turbo", ""]),
    power=anything,
    battery=st.one_of(st.none(), anything),
    soc=st.floats(min_value=0, max_value=1),
    pv=watts,
    load=watts,
)
def test_enforced_command_never_leaves_the_hard_limits(
    mode: str, power: float, battery: float | None, soc: float, pv: float, load: float
) -> None:
    safe = enforce_limits(Decision(mode, power, "plan", "asked", battery), soc, pv, load, LIMITS)
    assert safe.mode in MODES
    command = inverter_command(safe, pv)
    if safe.mode in INVERTER_LED:
        assert "setpoint_w" not in command
        return
    target = safe.target_w()
    assert -LIMITS.max_discharge_w <= target <= LIMITS.max_charge_w
    if target > 0:
        assert soc < LIMITS.soc_max - LIMITS.soc_margin
    if target < 0:
        assert soc > LIMITS.soc_min + LIMITS.soc_margin
    implied_battery = pv - command["setpoint_w"]
    assert abs(implied_battery - target) <= 1.0
    # Import stays inside its limit whenever the battery alone could keep it there.
    can_give = LIMITS.max_discharge_w if soc > LIMITS.soc_min + LIMITS.soc_margin else 0.0
    if load - pv - can_give <= LIMITS.max_import_w:
        assert load - pv + target <= LIMITS.max_import_w + 1e-6


def test_charge_power_respects_the_import_limit() -> None:
    safe = enforce_limits(Decision("force_charge", 5000, "plan", "cheap"), 0.5, 0, 12000, LIMITS)
    assert safe.battery_w == 3000
    assert "capped" in safe.reason


def test_full_battery_stops_charging_with_a_reason() -> None:
    safe = enforce_limits(Decision("force_charge", 3000, "plan", "cheap"), 0.99, 0, 500, LIMITS)
    assert (safe.mode, safe.level, safe.battery_w) == ("hold", "safety", 0.0)


def test_empty_battery_stops_discharging_in_the_mode_the_export_limit_allows() -> None:
    """With no export allowed, the stopped discharge is zero-export self-use, the same mode
    the hold records next tick (found by the hold property: two modes a second apart)."""
    no_export = replace(LIMITS, max_export_w=0)
    for limits, mode in ((LIMITS, "self_use"), (no_export, "self_use_zero_export")):
        wanted = Decision("force_discharge", 3000, "schedule", "evening")
        safe = enforce_limits(wanted, 0.11, 0, 500, limits)
        assert (safe.mode, safe.level, safe.battery_w) == (mode, "safety", None)
        assert "at its floor" in safe.reason


def test_hold_sets_the_ac_port_to_the_pv() -> None:
    safe = enforce_limits(Decision("hold", 0, "plan", "keep it", 0.0), 0.5, 2500, 800, LIMITS)
    assert inverter_command(safe, 2500) == {"mode": "hold", "power_w": 2500, "setpoint_w": 2500}


def test_planned_battery_power_becomes_the_setpoint() -> None:
    charge = enforce_limits(Decision("force_charge", 0, "plan", "", 4000.0), 0.5, 1000, 500, LIMITS)
    assert inverter_command(charge, 1000)["setpoint_w"] == -3000  # 3 kW in from the grid
    out = enforce_limits(Decision("force_discharge", 0, "plan", "", -4000.0), 0.5, 0, 500, LIMITS)
    assert inverter_command(out, 0)["setpoint_w"] == 4000


def telemetry(**overrides: Any) -> dict[str, Any]:
    return {
        "soc": 0.5,
        "timestamp": 1000.0,
        "grid_lost": False,
        "battery_temp_c": 25.0,
        "inverter_temp_c": 40.0,
        **overrides,
    }


def overridden(data: dict[str, Any], now: float) -> Decision:
    """The safety override for ``data`` at ``now``; there must be one."""
    decision = safety_override(data, DEFAULTS, now)
    assert decision is not None
    return decision


def test_safety_overrides() -> None:
    assert safety_override(telemetry(), DEFAULTS, 1000.0) is None
    assert "grid lost" in overridden(telemetry(grid_lost=True), 1000.0).reason
    assert "old" in overridden(telemetry(), 1000.0 + 3600).reason
    assert "hot" in overridden(telemetry(battery_temp_c=55), 1000.0).reason
    assert "cold" in overridden(telemetry(battery_temp_c=-3), 1000.0).reason
    assert safety_override(telemetry(bms_connected=True), DEFAULTS, 1000.0) is None
    unknown = telemetry(bms_connected=False, soc=None, battery_w=None, battery_temp_c=None)
    bms = overridden(unknown, 1000.0)
    assert (bms.mode, bms.level) == ("self_use", "safety")
    assert bms.reason.startswith("BMS disconnected")


def test_plan_decision_picks_the_slot_we_are_in() -> None:
    plan = {
        "slots": [
            {
                "start": "2026-01-01T00:00:00+00:00",
                "mode": "force_charge",
                "power_w": 2000,
                "battery_w": 2000,
                "reason": "cheap",
            },
            {
                "start": "2026-01-01T00:30:00+00:00",
                "mode": "force_discharge",
                "power_w": 3000,
                "reason": "spike",
            },
        ]
    }
    t0 = 1767225600.0  # 2026-01-01T00:00Z
    assert plan_decision(plan, t0 + 100).battery_w == 2000
    assert plan_decision(plan, t0 + 1900).power_w == 3000
    assert plan_decision(plan, t0 + 3700).level == "fallback"
    assert plan_decision(None, t0).mode == "self_use"
