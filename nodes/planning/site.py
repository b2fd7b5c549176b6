"""The ``planner`` section of site.yaml, owned by this package: the planner's costs, horizon
SOC targets (nodes/planning/targets.py) and demand charges (nodes/planning/demand.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowengine.settings import SiteSection, object_section
from nodes.planning.demand import CHARGE_SCHEMA, charge_problems
from nodes.planning.targets import RULE_SCHEMA, TargetProblem, check_planner

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
        "soc_targets": {
            "description": "SOC targets by a time in the site's zone, e.g. {soc: 0.8, by: "
            '"16:00", days: weekdays}: soft (a price per kWh short) or hard',
            "type": "array",
            "items": RULE_SCHEMA,
        },
        "demand_charges": {
            "description": "$ per kW of the billing cycle's peak import in a window, e.g. "
            '{price_per_kw: 0.5, from: "16:00", to: "21:00", days: weekdays}',
            "type": "array",
            "items": CHARGE_SCHEMA,
        },
    }
)

DEFAULTS: dict[str, Any] = {
    "cycle_cost_per_kwh": 0.02,
    "break_even_delta": 0.02,
    "allow_grid_charge": True,
    "arbitrage_export": True,
    "horizon_hours": 48,
    "soc_targets": [],
    "demand_charges": [],
}


def check(data: Mapping[str, Any]) -> list[TargetProblem]:
    """The planner section's check (a whole, schema-valid site config)."""
    charges = (data.get("planner") or {}).get("demand_charges")
    return [*check_planner(data), *charge_problems(charges)]


SECTION = SiteSection("planner", SCHEMA, DEFAULTS, check, owner=__name__)
