"""Every provider package the shipped input nodes know, and the site config each adds.

A provider package exports ``PROVIDERS``, ``SETTINGS_SCHEMA`` (site config
section -> JSON Schema), ``SETTINGS_DEFAULTS`` and, if its section needs more
than a schema can say, ``SETTINGS_CHECKS`` (section -> a function returning
problems with a ``path`` and a ``message``).
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

from nodes import amber, bom, replay, solar, storm, tariff, weather
from nodes.inputs.provider import Provider

PACKAGES: list[ModuleType] = [amber, bom, replay, solar, storm, tariff, weather]

PROVIDERS: list[type[Provider]] = []
SETTINGS_SCHEMA: dict[str, Any] = {}
SETTINGS_DEFAULTS: dict[str, Any] = {}
SETTINGS_CHECKS: dict[str, Callable[[Any], list[Any]]] = {}
for _package in PACKAGES:
    PROVIDERS += getattr(_package, "PROVIDERS", [])
    SETTINGS_SCHEMA.update(getattr(_package, "SETTINGS_SCHEMA", {}))
    SETTINGS_DEFAULTS.update(getattr(_package, "SETTINGS_DEFAULTS", {}))
    SETTINGS_CHECKS.update(getattr(_package, "SETTINGS_CHECKS", {}))
