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
