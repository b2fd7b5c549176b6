"""Flexible loads: car chargers and hot-water diverters whose power the plan chooses.

``nodes.flexible.settings`` is the site config's ``flexible_loads`` section (offered
the way the loads package offers ``loads``); the planner places each load from it
(``nodes.planning.placement``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flowengine.registry import Declared
from flowengine.settings import sections_from
from nodes.flexible.settings import (
    DEFAULTS,
    SCHEMA,
    SECTION,
    FlexConfig,
    InvalidFlexibleLoads,
    check_flexible_loads,
    flexible_configs,
)

SETTINGS_SCHEMA: dict[str, dict[str, Any]] = {SECTION: SCHEMA}
SETTINGS_DEFAULTS: dict[str, Any] = {SECTION: DEFAULTS}
SETTINGS_CHECKS: dict[str, Callable[[Any], list[Any]]] = {SECTION: check_flexible_loads}

NODE_TYPES: list[Declared] = []
NODE_TYPES += sections_from(SETTINGS_SCHEMA, SETTINGS_DEFAULTS, SETTINGS_CHECKS, owner=__name__)

__all__ = [
    "NODE_TYPES",
    "SETTINGS_CHECKS",
    "SETTINGS_DEFAULTS",
    "SETTINGS_SCHEMA",
    "FlexConfig",
    "InvalidFlexibleLoads",
    "check_flexible_loads",
    "flexible_configs",
]
