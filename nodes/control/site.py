"""The ``control`` section of site.yaml, owned by this package: the control tick's
hierarchy, anti-oscillation and weekly schedule (nodes/control/settings.py reads it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowengine.schema import DURATION
from flowengine.settings import SiteSection, object_section
from nodes.control.decision import MODES

FRACTION = {"type": "number", "minimum": 0, "maximum": 1}
WATTS = {"type": "number", "minimum": 0}
POSITIVE = {"type": "number", "exclusiveMinimum": 0}
PRICE = {"type": "number", "description": "$/kWh"}

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
    "opportunistic": object_section(
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
        "items": object_section(
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


#: ``control.mode``: live commands the inverter; shadow only watches (docs/control.md).
CONTROL_MODES = ("live", "shadow")

SCHEMA: dict[str, Any] = object_section(
    {
        "mode": {
            "enum": list(CONTROL_MODES),
            "description": "live: command the inverter; shadow: read, plan, decide and show "
            "what it would command, writing nothing to the inverter (run --shadow)",
        },
        "soc_margin": {"type": "number", "minimum": 0, "maximum": 0.2},
        "telemetry_stale_after": DURATION,
        "override_max_duration": {
            **DURATION,
            "description": "the longest manual override accepted (24h)",
        },
        **CONTROL_SCHEMA,
    }
)

DEFAULTS: dict[str, Any] = {
    "mode": "live",
    "soc_margin": 0.02,
    "telemetry_stale_after": "15m",
    "override_max_duration": "24h",
    **CONTROL_DEFAULTS,
}

SECTION = SiteSection("control", SCHEMA, DEFAULTS, owner=__name__)


def control_mode(settings: Mapping[str, Any]) -> str:
    """``control.mode`` of the running settings: ``shadow``, else ``live``."""
    return "shadow" if (settings.get("control") or {}).get("mode") == "shadow" else "live"
