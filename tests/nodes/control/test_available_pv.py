"""Which PV the AC setpoint counts on: the reading, or the plan's when the reading is capped."""

from __future__ import annotations

from typing import Any

from nodes.control.hierarchy import available_pv
from powermaster.config import DEFAULTS

SETTINGS: dict[str, Any] = DEFAULTS


def _telemetry(**values: Any) -> dict[str, Any]:
    base = {"soc": 0.5, "pv_w": 1000.0, "battery_w": 0.0, "grid_w": 0.0}
    return {**base, **values}


def test_the_reading_wins_while_the_battery_can_take_more() -> None:
    telemetry = _telemetry(remote_enabled=True, remote_setpoint_w=1000)
    assert available_pv(telemetry, 4000.0, SETTINGS) == 1000.0


def test_a_full_battery_holding_under_remote_control_counts_the_planned_pv() -> None:
    # The inverter held the AC output at our last setpoint (1 kW) and the full battery
    # took nothing, so the panels were curtailed to 1 kW: the reading is our own echo.
    full = SETTINGS["battery"]["soc_max"]
    telemetry = _telemetry(soc=full, remote_enabled=True, remote_setpoint_w=1000)
    assert available_pv(telemetry, 4000.0, SETTINGS) == 4000.0


def test_a_full_battery_in_self_use_is_not_curtailed_by_us() -> None:
    full = SETTINGS["battery"]["soc_max"]
    telemetry = _telemetry(soc=full, remote_enabled=False)
    assert available_pv(telemetry, 4000.0, SETTINGS) == 1000.0


def test_planned_curtailment_caps_the_count() -> None:
    full = SETTINGS["battery"]["soc_max"]
    telemetry = _telemetry(soc=full, remote_enabled=True, remote_setpoint_w=1000)
    assert available_pv(telemetry, 4000.0, SETTINGS, curtailed=2500.0) == 1500.0


def test_a_battery_held_at_a_lowered_charge_limit_counts_the_planned_pv() -> None:
    # A hold that curtails PV (41007 at 0 A): the inverter cut the panels to our last
    # setpoint (600 W), so the reading is our own echo. Counting it would ratchet the
    # setpoint down while the house imports the rest (Thu 2 Jan 2025, Amber SA).
    held = _telemetry(pv_w=600.0, remote_enabled=True, remote_setpoint_w=600, charge_limit_w=0.0)
    assert available_pv(held, 1949.0, SETTINGS, curtailed=157.0) == 1792.0
    # Without the limit in force known, the reading wins (the battery could take more).
    unknown = {k: v for k, v in held.items() if k != "charge_limit_w"}
    assert available_pv(unknown, 1949.0, SETTINGS, curtailed=157.0) == 600.0


def test_a_battery_below_its_lowered_limit_takes_what_pv_gives() -> None:
    # 41007 lets it take 500 W, it takes 200 W: PV is not curtailed, the reading is all of it.
    slow = _telemetry(battery_w=200.0, remote_enabled=True, charge_limit_w=500.0)
    assert available_pv(slow, 4000.0, SETTINGS) == 1000.0
    at_limit = _telemetry(battery_w=500.0, remote_enabled=True, charge_limit_w=500.0)
    assert available_pv(at_limit, 4000.0, SETTINGS) == 4000.0
