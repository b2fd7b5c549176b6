"""The ``inverter`` section of site.yaml, owned by this package:
how the Fox ESS KH is reached over Modbus and what it falls back to.
"""

from __future__ import annotations

from typing import Any

from flowengine.settings import SiteSection, object_section

FRACTION = {"type": "number", "minimum": 0, "maximum": 1}
WATTS = {"type": "number", "minimum": 0}
POSITIVE = {"type": "number", "exclusiveMinimum": 0}
PRICE = {"type": "number", "description": "$/kWh"}


SCHEMA: dict[str, Any] = object_section(
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
)

DEFAULTS: dict[str, Any] = {
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
}

SECTION = SiteSection("inverter", SCHEMA, DEFAULTS, owner=__name__)
