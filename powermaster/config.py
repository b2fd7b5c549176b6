"""The site config: its schema, defaults, and loading with located errors."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from flowengine.errors import InvalidFlows, Problem
from flowengine.registry import default_registry
from flowengine.schema import DURATION
from flowengine.secrets import attach_secrets, load_secrets
from flowengine.validate import schema_problems
from flowengine.yamlsource import SourceDoc, YamlSyntaxError, parse_file
from nodes.control.decision import MODES
from nodes.inputs.catalog import PROVIDERS

#: The sections installed node packages own (loads:, billing:, amber:, mqtt:...), each
#: with its schema, defaults and checks: declared by the package, not listed here.
PACKAGE_SECTIONS = default_registry().sections

#: Where ``!secret name`` values live: beside the site config, never shown anywhere.
SECRETS_FILE = "secrets.yaml"

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


def _source(kind: str, what: str) -> dict[str, Any]:
    """``sources.<kind>``: one of the providers installed for it, or none."""
    names = sorted({p.name for p in PROVIDERS if p.kind == kind} | {"none"})
    return {"enum": names, "description": f"where {what} come from: {', '.join(names)}"}


_CLOCK_TIME = {"type": "string", "pattern": r"^(([01]?\d|2[0-3]):[0-5]\d|24:00)$"}
_DAY_NAMES = ["mon", "tue", "wed", "thu", "fri", "sat", "sun", "all", "weekdays", "weekends"]

#: The control tick's hierarchy and anti-oscillation (nodes/control/settings.py reads them).
CONTROL_SCHEMA: dict[str, Any] = {
    "critical_soc": {
        **FRACTION,
        "description": "no discharging at or below this SOC, in any mode, and the plan "
        "stays above it (default: soc_min)",
    },
    "soc_hysteresis": {
        "type": "number",
        "minimum": 0,
        "maximum": 0.2,
        "description": "how far SOC must clear a threshold (critical, storm reserve) to undo it",
    },
    "degraded_soc_margin": {
        "type": "number",
        "minimum": 0,
        "maximum": 0.3,
        "description": "extra SOC margin inside the hard limits while health is degraded",
    },
    "min_hold": {
        "description": "how long a mode stays in force before another may replace it: one "
        "duration, or one per mode (modes not named: 10m); safety never waits",
        "anyOf": [
            DURATION,
            {
                "type": "object",
                "properties": dict.fromkeys(MODES, DURATION),
                "additionalProperties": False,
            },
        ],
    },
    "max_mode_changes": {
        "type": "integer",
        "minimum": 1,
        "description": "at most this many mode changes per mode_change_window (safety excepted)",
    },
    "mode_change_window": {**DURATION, "description": "the window max_mode_changes counts in"},
    "opportunistic": _section(
        {
            "enabled": {
                "type": "boolean",
                "description": "sell stored energy into an export price the plan did not expect",
            },
            "default_cost_basis": {
                **PRICE,
                "description": "what stored energy cost ($/kWh) when global.cost_basis is unset",
            },
            "spike_export_price": {
                **PRICE,
                "description": "an export price ($/kWh) at or above this is a spike worth "
                "selling into when the plan did not expect it (default 0.50)",
            },
        }
    ),
    "schedule": {
        "description": "weekly mode rules in the site's time zone; the first that matches "
        "wins (above the plan, below the manual override)",
        "type": "array",
        "items": _section(
            {
                "name": {"type": "string"},
                "days": {
                    "description": "mon..sun, or all, weekdays, weekends",
                    "anyOf": [
                        {"enum": _DAY_NAMES},
                        {"type": "array", "items": {"enum": _DAY_NAMES}, "minItems": 1},
                    ],
                },
                "from": {**_CLOCK_TIME, "description": "HH:MM local time"},
                "to": {**_CLOCK_TIME, "description": "HH:MM; not after from: past midnight"},
                "mode": {"enum": list(MODES)},
                "power_w": WATTS,
                "export_limit_w": WATTS,
            },
            required=("from", "to", "mode"),
        ),
    },
}
CONTROL_DEFAULTS: dict[str, Any] = {
    "soc_hysteresis": 0.02,
    "degraded_soc_margin": 0.05,
    "min_hold": "10m",
    "max_mode_changes": 6,
    "mode_change_window": "1h",
    "opportunistic": {"enabled": True, "default_cost_basis": 0.10, "spike_export_price": 0.50},
    "schedule": [],
}

SITE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Power Master site config",
    "type": "object",
    "properties": {
        "site": _section(
            {
                "name": {"type": "string"},
                "timezone": {"type": "string"},
                "latitude": {"type": "number", "minimum": -90, "maximum": 90},
                "longitude": {"type": "number", "minimum": -180, "maximum": 180},
            }
        ),
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
                "max_read_registers": {
                    "type": "integer",
                    "minimum": 8,
                    "maximum": 125,
                    "description": "registers per read request (protocols §1.7: the KH takes "
                    "31000-31027 in one; foxess_modbus keeps to 20 for slow gateways)",
                },
                "max_temp_c": {"type": "number"},
                "fallback_mode": {
                    "enum": ["self_use", "feed_in_first", "back_up"],
                    "description": "work mode (41000) the inverter runs when remote control ends",
                },
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
                "override_max_duration": {
                    **DURATION,
                    "description": "the longest manual override accepted (24h)",
                },
                **CONTROL_SCHEMA,
            }
        ),
        "sources": _section(
            {
                "prices": _source("prices", "import and feed-in prices"),
                "pv": _source("pv", "the PV forecast"),
                "weather": _source("weather", "the weather forecast"),
                "storm": _source("storm", "storm warnings"),
                "usage": _source(
                    "usage", "the retailer's metered usage the ledger settles against "
                    "(sample: the simulated site's meter)"),
            }
        ),
        "inputs": _section(
            {
                "stale_after": _section(
                    {"prices": DURATION, "pv": DURATION, "weather": DURATION, "storm": DURATION,
                     "usage": DURATION}
                )
            }
        ),
        "simulator": _section({"soc_initial": FRACTION}),
        "health": _section(
            {
                "telemetry_degraded_after": DURATION,
                "telemetry_safety_after": DURATION,
                "modbus_degraded_after": {
                    "type": "integer",
                    "minimum": 1,
                    "description": "consecutive failed Modbus exchanges",
                },
                "modbus_safety_after": {"type": "integer", "minimum": 1},
                "plan_degraded_after": DURATION,
                "plan_safety_after": DURATION,
                "input_safety_after": _section(
                    {"prices": DURATION, "pv": DURATION, "weather": DURATION, "storm": DURATION}
                ),
            }
        ),
        "metrics": {
            **_section({"token": {"description": "the bearer token Prometheus scrapes /metrics "
                                  "with: write !secret metrics_token"}}),
            "description": "Prometheus's access to /metrics",
        },
        **{name: section.schema for name, section in PACKAGE_SECTIONS.items()},
    },
    "additionalProperties": False,
}

DEFAULTS: dict[str, Any] = {
    "site": {
        "name": "Power Master site",
        "timezone": "Australia/Brisbane",
        "latitude": -27.47,
        "longitude": 153.03,
    },
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
        "max_read_registers": 20,
        "max_temp_c": 70,
        "fallback_mode": "self_use",
    },
    "planner": {
        "cycle_cost_per_kwh": 0.02,
        "break_even_delta": 0.02,
        "allow_grid_charge": True,
        "arbitrage_export": True,
        "horizon_hours": 48,
    },
    "control": {
        "soc_margin": 0.02,
        "telemetry_stale_after": "15m",
        "override_max_duration": "24h",
        **CONTROL_DEFAULTS,
    },
    "sources": {
        "prices": "sample", "pv": "sample", "weather": "none", "storm": "none", "usage": "sample"},
    "inputs": {"stale_after": {
        "prices": "45m", "pv": "8h", "weather": "6h", "storm": "1h", "usage": "3d"}},
    "simulator": {"soc_initial": 0.5},
    "health": {  # docs: nodes/health/checks.py says why these
        "telemetry_degraded_after": "10m",
        "telemetry_safety_after": "15m",
        "modbus_degraded_after": 1,
        "modbus_safety_after": 3,
        "plan_degraded_after": "2h",
        "plan_safety_after": "12h",
        "input_safety_after": {"prices": "2h"},
    },
    "metrics": {},
    **{
        name: copy.deepcopy(section.defaults)
        for name, section in PACKAGE_SECTIONS.items()
        if section.defaults is not None
    },
}


def load_site_config(path: Path) -> dict[str, Any]:
    """Read, validate and fill in defaults; raises ``InvalidFlows`` with located problems."""
    try:
        doc = parse_file(path)
    except YamlSyntaxError as exc:
        raise InvalidFlows([exc.problem]) from None
    problems = check_site_config(doc, path.parent / SECRETS_FILE)
    if problems:
        raise InvalidFlows(problems)
    return merge_defaults(doc.data)


def check_site_config(
    doc: SourceDoc, secrets_file: Path, new_secrets: Mapping[str, str] | None = None
) -> list[Problem]:
    """Every problem with a parsed site config (schema, consistency, secrets), each made by
    ``doc.problem``; binds its ``!secret`` values (``new_secrets`` over the file's)."""
    data = doc.data if doc.data is not None else {}
    doc.data = data
    problems = schema_problems(doc, SITE_SCHEMA)
    if not problems:
        problems = _check_consistency(doc, data)
    if not problems:
        problems = _attach_secrets(doc, data, secrets_file, new_secrets or {})
    return problems


def _attach_secrets(
    doc: Any, data: dict[str, Any], secrets_file: Path, new_secrets: Mapping[str, str]
) -> list[Problem]:
    """Bind ``!secret`` values from the secrets file beside the config; name the missing."""
    try:
        secrets = {**load_secrets(secrets_file), **new_secrets}
    except (OSError, ValueError, yaml.YAMLError) as exc:
        # Never the parser's own message: it quotes the line, and the line is a secret.
        where = getattr(getattr(exc, "problem_mark", None), "line", None)
        at = "" if where is None else f" (line {where + 1})"
        return [doc.problem((), f"cannot read {secrets_file.name}{at}: {type(exc).__name__}")]
    return [
        doc.problem(where, f"secret {data_at(data, where)!s} is not defined in {secrets_file.name}")
        for where in attach_secrets(data, secrets)
    ]


def data_at(data: Any, path: tuple[str | int, ...]) -> Any:
    for key in path:
        data = data[key]
    return data


def merge_defaults(data: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(DEFAULTS)
    for section, values in data.items():
        merged.setdefault(section, {}).update(values)
    return merged


def _check_consistency(doc: Any, data: dict[str, Any]) -> list[Problem]:
    problems = [
        doc.problem(tuple(problem.path), problem.message)
        for section in PACKAGE_SECTIONS.values()
        if section.check is not None
        for problem in section.check(data)
    ]
    return problems or _check_battery(doc, data)


def _check_battery(doc: Any, data: dict[str, Any]) -> list[Problem]:
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
