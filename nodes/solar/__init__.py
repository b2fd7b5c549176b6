"""PV forecasts from Solcast rooftop sites and from the public Forecast.Solar API.

Both are input providers (``nodes.inputs``): ``sources.pv: solcast`` or
``sources.pv: forecast_solar`` in site.yaml, or the ``solcast.pv`` /
``forecast_solar.pv`` node types in a flow. Their settings live in the site
config sections of the same names (``SETTINGS_SCHEMA``, ``SETTINGS_DEFAULTS``,
and ``SETTINGS_CHECKS`` for what a schema cannot say).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flowengine.registry import Declared
from flowengine.settings import sections_from
from nodes.inputs.node import provider_node
from nodes.inputs.provider import Provider
from nodes.solar import forecast_solar, solcast
from nodes.solar.forecast_solar import ForecastSolarPv
from nodes.solar.solcast import SolcastPv

PROVIDERS: list[type[Provider]] = [SolcastPv, ForecastSolarPv]
NODE_TYPES: list[Declared] = [provider_node(SolcastPv), provider_node(ForecastSolarPv)]
SETTINGS_SCHEMA: dict[str, dict[str, Any]] = {
    "solcast": solcast.SETTINGS_SCHEMA,
    "forecast_solar": forecast_solar.SETTINGS_SCHEMA,
}
SETTINGS_DEFAULTS: dict[str, dict[str, Any]] = {
    "solcast": solcast.SETTINGS_DEFAULTS,
    "forecast_solar": forecast_solar.SETTINGS_DEFAULTS,
}
SETTINGS_CHECKS: dict[str, Callable[[Any], list[Any]]] = {
    "solcast": solcast.check_settings,
    "forecast_solar": forecast_solar.check_settings,
}

NODE_TYPES += sections_from(SETTINGS_SCHEMA, SETTINGS_DEFAULTS, SETTINGS_CHECKS, owner=__name__)

__all__ = [
    "NODE_TYPES",
    "PROVIDERS",
    "SETTINGS_CHECKS",
    "SETTINGS_DEFAULTS",
    "SETTINGS_SCHEMA",
    "ForecastSolarPv",
    "SolcastPv",
]
