"""The storm monitor: storm risk per period, and the storm reserve it arms."""

from __future__ import annotations

from typing import Any

from flowengine.registry import Declared
from flowengine.settings import sections_from
from nodes.inputs.provider import Provider
from nodes.storm import settings
from nodes.storm.monitor import StormMonitor

PROVIDERS: list[type[Provider]] = []
NODE_TYPES: list[Declared] = [StormMonitor]
SETTINGS_SCHEMA: dict[str, dict[str, Any]] = {"storm": settings.SCHEMA}
SETTINGS_DEFAULTS: dict[str, dict[str, Any]] = {"storm": settings.DEFAULTS}

NODE_TYPES += sections_from(SETTINGS_SCHEMA, SETTINGS_DEFAULTS, {}, owner=__name__)

__all__ = ["NODE_TYPES", "PROVIDERS", "SETTINGS_DEFAULTS", "SETTINGS_SCHEMA", "StormMonitor"]
