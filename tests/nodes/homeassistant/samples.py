"""Inputs as the real producers make them: the Fox client's telemetry, the control
decision, the health record, control.compare's check, the storm reserve and an Amber
prices reading."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from nodes.amber.intervals import to_prices
from nodes.control.compare import check_record
from nodes.control.decision import Decision
from nodes.control.deviation import Commanded, Memory, Thresholds, compare
from nodes.control.health import health_record
from nodes.foxess.client import Telemetry
from nodes.health.checks import Assessment, Finding
from nodes.inputs.reading import Reading
from powermaster.config import DEFAULTS

AMBER = Path(__file__).parents[2] / "fixtures" / "amber" / "current_30min.json"
#: Ten minutes into the fixture's current interval (2025-04-09 17:10 UTC).
NOW = 1_744_218_600.0
#: That interval's prices, $/kWh (Amber's c/kWh / 100; feed-in negated: what exporting earns).
IMPORT_PRICE, EXPORT_PRICE = 0.2362991, 0.0947154


def settings(**sections: Any) -> dict[str, Any]:
    """The site defaults with ``sections`` laid over them."""
    merged = copy.deepcopy(DEFAULTS)
    merged.update(copy.deepcopy(sections))
    return merged


def telemetry(at: float = NOW - 5) -> dict[str, Any]:
    return Telemetry(
        timestamp=at,
        soc=0.65,
        soc_pct=65,
        pv_w=3120.4,
        load_w=1299.6,
        battery_w=1500.0,
        grid_w=-320.2,
        battery_voltage_v=52.1,
        inverter_temp_c=38.0,
        ambient_temp_c=27.5,
        battery_temp_c=24.0,
        inverter_state=3,
        grid_lost=False,
        work_mode=0,
        remote_enabled=True,
        remote_setpoint_w=1620,
        battery_energy_kwh=6.8,
        energy_kwh={
            "pv": 8123.4,
            "battery_charge": 2950.1,
            "battery_discharge": 2801.7,
            "grid_export": 6120.9,
            "grid_import": 10482.4,
            "inverter_output": 7000.0,
            "inverter_input": 3100.0,
            "load": 11890.3,
        },
        energy_today_kwh={"pv": 12.3, "grid_import": 4.1},
    ).as_dict()


def decision() -> dict[str, Any]:
    """What the control flow keeps in global.decision (the hierarchy node's payload)."""
    made = Decision("force_charge", 1500.0, "plan", "the plan charges at $0.24/kWh", 1500.0)
    return {**made.as_dict(), "setpoint_w": 1620, "floor": 0.12, "soc": 0.65, "at": NOW - 4}


def health(state: str = "degraded") -> dict[str, Any]:
    findings = [] if state == "ok" else [Finding("prices", state, "prices are 50 minutes old")]
    return health_record(Assessment(state, findings, {}), NOW - 60, None)


def command_check(work_mode: int = 1) -> dict[str, Any]:
    """global.command_check as control.compare keeps it: a charge held, and 41000 read as
    ``work_mode`` (1: the Fox app set Feed-in First)."""
    held = Commanded("force_charge", NOW - 300, setpoint_w=-1500, work_mode=0)
    read = {**telemetry(), "work_mode": work_mode, "remote_enabled": True}
    verdict = compare(NOW - 5, read, DEFAULTS, Thresholds(), Memory(commanded=held))
    return check_record(verdict, read, NOW - 5)


def storm(armed: bool = True) -> dict[str, Any]:
    """global.storm_reserve in the storm monitor's shape."""
    reserve: dict[str, Any] = {"armed": armed, "soc": 0.8, "start": NOW - 600, "end": NOW + 7200}
    why: dict[str, Any] = {
        "probability": 0.85,
        "reason": "severe thunderstorm warning",
        "evidence": ["warning"],
    }
    if not armed:
        reserve = {"armed": False, "soc": 0, "start": None, "end": None}
        why = {"probability": 0.25, "reason": "no storm signal", "evidence": []}
    return {**reserve, **why, "warnings": []}


def prices() -> dict[str, Any]:
    """global.prices: an Amber reading as the input node stores it."""
    intervals = to_prices(json.loads(AMBER.read_text()))
    return Reading("prices", "amber", NOW - 30, NOW - 30, {"intervals": intervals}).as_dict()
