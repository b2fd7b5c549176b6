"""Flexible loads: car chargers and hot-water diverters whose power the plan chooses.

``flexible.control`` is the node (flows/flexible.yaml); ``nodes.flexible.decide`` the
pure setpoint decision; ``nodes.flexible.settings`` the site config's ``flexible_loads``
section (offered the way the loads package offers ``loads``); the adapters speak MQTT,
OpenEVSE, evcc and Shelly (``nodes.flexible.adapters``). The planner places each load
(``nodes.planning.placement``) from what it needs by when (``nodes.flexible.deadline``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flowengine.registry import Declared
from flowengine.settings import sections_from
from nodes.flexible.control import FlexibleControl
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

NODE_TYPES: list[Declared] = [FlexibleControl]
NODE_TYPES += sections_from(SETTINGS_SCHEMA, SETTINGS_DEFAULTS, SETTINGS_CHECKS, owner=__name__)

__all__ = [
    "NODE_TYPES",
    "SETTINGS_CHECKS",
    "SETTINGS_DEFAULTS",
    "SETTINGS_SCHEMA",
    "FlexConfig",
    "FlexibleControl",
    "InvalidFlexibleLoads",
    "check_flexible_loads",
    "flexible_configs",
]
