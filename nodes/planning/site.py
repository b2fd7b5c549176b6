"""The ``planner`` section of site.yaml, owned by this package: the planner's costs and horizon."""

from __future__ import annotations

from typing import Any

from flowengine.settings import SiteSection, object_section

FRACTION = {"type": "number", "minimum": 0, "maximum": 1}
WATTS = {"type": "number", "minimum": 0}
POSITIVE = {"type": "number", "exclusiveMinimum": 0}
PRICE = {"type": "number", "description": "$/kWh"}


SCHEMA: dict[str, Any] = object_section(
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
)

DEFAULTS: dict[str, Any] = {
    "cycle_cost_per_kwh": 0.02,
    "break_even_delta": 0.02,
    "allow_grid_charge": True,
    "arbitrage_export": True,
    "horizon_hours": 48,
}

SECTION = SiteSection("planner", SCHEMA, DEFAULTS, owner=__name__)
