"""The ``health`` section of site.yaml, registered by ``nodes.control`` with ``control.health``:
when control health turns degraded or safety (nodes/health/checks.py says why these).
"""

from __future__ import annotations

from typing import Any

from flowengine.schema import DURATION
from flowengine.settings import SiteSection, object_section

FRACTION = {"type": "number", "minimum": 0, "maximum": 1}
WATTS = {"type": "number", "minimum": 0}
POSITIVE = {"type": "number", "exclusiveMinimum": 0}
PRICE = {"type": "number", "description": "$/kWh"}


SCHEMA: dict[str, Any] = object_section(
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
        "input_safety_after": object_section(
            {"prices": DURATION, "pv": DURATION, "weather": DURATION, "storm": DURATION}
        ),
    }
)

DEFAULTS: dict[str, Any] = {  # docs: nodes/health/checks.py says why these
    "telemetry_degraded_after": "10m",
    "telemetry_safety_after": "15m",
    "modbus_degraded_after": 1,
    "modbus_safety_after": 3,
    "plan_degraded_after": "2h",
    "plan_safety_after": "12h",
    "input_safety_after": {"prices": "2h"},
}

SECTION = SiteSection("health", SCHEMA, DEFAULTS, owner=__name__)
