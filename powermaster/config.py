"""The site config: its schema, defaults, and loading with located errors."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from flowengine.errors import InvalidFlows, Problem
from flowengine.schema import DURATION
from flowengine.validate import schema_problems
from flowengine.yamlsource import YamlSyntaxError, parse_file

FRACTION = {"type": "number", "minimum": 0, "maximum": 1}
WATTS = {"type": "number", "minimum": 0}
POSITIVE = {"type": "number", "exclusiveMinimum": 0}
PRICE = {"type": "number", "description": "$/kWh"}


def _section(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": False,
    }


SITE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Power Master site config",
    "type": "object",
    "properties": {
        "site": _section({"name": {"type": "string"}, "timezone": {"type": "string"}}),
        "battery": _section(
            {
                "capacity_kwh": POSITIVE,
                "max_charge_w": WATTS,
                "max_discharge_w": WATTS,
                "charge_efficiency": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
                "discharge_efficiency": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
                "soc_min": FRACTION,
                "soc_max": FRACTION,
                "max_temp_c": {"type": "number"},
                "min_temp_c": {"type": "number"},
            }
        ),
        "grid": _section({"max_import_w": WATTS, "max_export_w": WATTS}),
        "inverter": _section(
            {
                "host": {"type": "string"},
                "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                "unit_id": {"type": "integer", "minimum": 1, "maximum": 247},
                "firmware": {"enum": ["kh133", "pre133"]},
                "register_function": {"enum": ["holding", "input"]},
                "watchdog_s": {"type": "integer", "minimum": 10, "maximum": 600},
                "timeout_s": POSITIVE,
                "max_temp_c": {"type": "number"},
            }
        ),
        "planner": _section(
            {
                "cycle_cost_per_kwh": {"type": "number", "minimum": 0},
                "break_even_delta": {"type": "number", "minimum": 0},
                "allow_grid_charge": {"type": "boolean"},
                "arbitrage_export": {"type": "boolean"},
                "horizon_hours": {"type": "number", "minimum": 1, "maximum": 72},
            "soft_soc_min": FRACTION,
            "soft_soc_max": FRACTION,
            "soft_soc_penalty_per_kwh": {"type": "number", "minimum": 0},
            }
        ),
        "control": _section(
            {
                "soc_margin": {"type": "number", "minimum": 0, "maximum": 0.2},
                "telemetry_stale_after": DURATION,
            }
        ),
        "prices": _section({"source": {"enum": ["sample"]}}),
        "simulator": _section({"soc_initial": FRACTION}),
    },
    "additionalProperties": False,
}

DEFAULTS: dict[str, Any] = {
    "site": {"name": "Power Master site", "timezone": "Australia/Brisbane"},
    "battery": {
        "capacity_kwh": 10.4,
        "max_charge_w": 5000,
        "max_discharge_w": 5000,
        "charge_efficiency": 0.95,
        "discharge_efficiency": 0.95,
        "soc_min": 0.10,
        "soc_max": 1.0,
        "max_temp_c": 50,
        "min_temp_c": 0,
    },
    "grid": {"max_import_w": 15000, "max_export_w": 5000},
    "inverter": {
        "host": "127.0.0.1",
        "port": 5020,
        "unit_id": 247,
        "firmware": "kh133",
        "register_function": "holding",
        "watchdog_s": 60,
        "timeout_s": 3.0,
        "max_temp_c": 70,
    },
    "planner": {
        "cycle_cost_per_kwh": 0.02,
        "break_even_delta": 0.02,
        "allow_grid_charge": True,
        "arbitrage_export": True,
        "horizon_hours": 48,
    },
    "control": {"soc_margin": 0.02, "telemetry_stale_after": "15m"},
    "prices": {"source": "sample"},
    "simulator": {"soc_initial": 0.5},
}


def load_site_config(path: Path) -> dict[str, Any]:
    """Read, validate and fill in defaults; raises ``InvalidFlows`` with located problems."""
    try:
        doc = parse_file(path)
    except YamlSyntaxError as exc:
        raise InvalidFlows([exc.problem]) from None
    data = doc.data if doc.data is not None else {}
    doc.data = data
    problems = schema_problems(doc, SITE_SCHEMA)
    if not problems:
        problems = _check_consistency(doc, data)
    if problems:
        raise InvalidFlows(problems)
    return merge_defaults(data)


def merge_defaults(data: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(DEFAULTS)
    for section, values in data.items():
        merged.setdefault(section, {}).update(values)
    return merged


def _check_consistency(doc: Any, data: dict[str, Any]) -> list[Problem]:
    battery = {**DEFAULTS["battery"], **data.get("battery", {})}
    if battery["soc_min"] >= battery["soc_max"]:
        return [
            doc.problem(
                ("battery", "soc_min"),
                f"battery soc_min ({battery['soc_min']}) must be below "
                f"soc_max ({battery['soc_max']})",
            )
        ]
    return []
