"""PV forecasts from the public Forecast.Solar API (no key), one call per roof plane.

An input provider (``nodes.inputs``): ``sources.pv: forecast_solar`` in
site.yaml, or the ``forecast_solar.pv`` node type in a flow. Its settings live
in the site config's ``forecast_solar`` section (``SETTINGS_SCHEMA``,
``SETTINGS_DEFAULTS``, and ``SETTINGS_CHECKS`` for what a schema cannot say).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flowengine.registry import Declared
from flowengine.settings import sections_from
from nodes.forecast_solar import provider
from nodes.forecast_solar.provider import ForecastSolarPv
from nodes.inputs.provider import Provider
from nodes.inputs.refresh import provider_node

PROVIDERS: list[type[Provider]] = [ForecastSolarPv]
NODE_TYPES: list[Declared] = [provider_node(ForecastSolarPv)]
SETTINGS_SCHEMA: dict[str, dict[str, Any]] = {"forecast_solar": provider.SETTINGS_SCHEMA}
SETTINGS_DEFAULTS: dict[str, dict[str, Any]] = {"forecast_solar": provider.SETTINGS_DEFAULTS}
SETTINGS_CHECKS: dict[str, Callable[[Any], list[Any]]] = {
    "forecast_solar": provider.check_settings,
}

NODE_TYPES += sections_from(SETTINGS_SCHEMA, SETTINGS_DEFAULTS, SETTINGS_CHECKS, owner=__name__)

__all__ = [
    "NODE_TYPES",
    "PROVIDERS",
    "SETTINGS_CHECKS",
    "SETTINGS_DEFAULTS",
    "SETTINGS_SCHEMA",
    "ForecastSolarPv",
]
