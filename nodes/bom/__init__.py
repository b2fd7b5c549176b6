"""Bureau of Meteorology storm warnings and the town précis, over anonymous FTP."""

from __future__ import annotations

from typing import Any

from flowengine.registry import Declared
from flowengine.settings import sections_from
from nodes.bom import settings
from nodes.bom.provider import BomStorm
from nodes.inputs.provider import Provider
from nodes.inputs.refresh import provider_node

PROVIDERS: list[type[Provider]] = [BomStorm]
NODE_TYPES: list[Declared] = [provider_node(BomStorm)]
SETTINGS_SCHEMA: dict[str, dict[str, Any]] = {"bom": settings.SCHEMA}
SETTINGS_DEFAULTS: dict[str, dict[str, Any]] = {"bom": settings.DEFAULTS}

NODE_TYPES += sections_from(SETTINGS_SCHEMA, SETTINGS_DEFAULTS, {}, owner=__name__)

__all__ = ["NODE_TYPES", "PROVIDERS", "SETTINGS_DEFAULTS", "SETTINGS_SCHEMA", "BomStorm"]
