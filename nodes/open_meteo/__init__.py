"""The weather forecast from Open-Meteo."""

from __future__ import annotations

from typing import Any

from flowengine.registry import Declared
from flowengine.settings import sections_from
from nodes.inputs.provider import Provider
from nodes.inputs.refresh import provider_node
from nodes.open_meteo import settings
from nodes.open_meteo.provider import OpenMeteoWeather

PROVIDERS: list[type[Provider]] = [OpenMeteoWeather]
NODE_TYPES: list[Declared] = [provider_node(OpenMeteoWeather)]
SETTINGS_SCHEMA: dict[str, dict[str, Any]] = {"open_meteo": settings.SCHEMA}
SETTINGS_DEFAULTS: dict[str, dict[str, Any]] = {"open_meteo": settings.DEFAULTS}

NODE_TYPES += sections_from(SETTINGS_SCHEMA, SETTINGS_DEFAULTS, {}, owner=__name__)

__all__ = ["NODE_TYPES", "PROVIDERS", "SETTINGS_DEFAULTS", "SETTINGS_SCHEMA", "OpenMeteoWeather"]
