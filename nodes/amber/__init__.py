"""Amber Electric: live prices and metered usage as input providers (``amber.prices``,
``amber.usage``). The spike watch for any prices is ``prices.spike`` (``nodes.prices``)."""

from __future__ import annotations

from typing import Any

from flowengine.registry import Declared
from flowengine.settings import sections_from
from nodes.amber.prices import AmberPrices
from nodes.amber.schema import SETTINGS_DEFAULTS as _AMBER_DEFAULTS
from nodes.amber.schema import SETTINGS_SCHEMA as _AMBER_SCHEMA
from nodes.amber.usage import AmberUsage
from nodes.inputs.provider import Provider
from nodes.inputs.refresh import provider_node

PROVIDERS: list[type[Provider]] = [AmberPrices, AmberUsage]
NODE_TYPES: list[Declared] = [provider_node(AmberPrices), provider_node(AmberUsage)]
SETTINGS_SCHEMA: dict[str, dict[str, Any]] = {"amber": _AMBER_SCHEMA}
SETTINGS_DEFAULTS: dict[str, dict[str, Any]] = {"amber": _AMBER_DEFAULTS}

NODE_TYPES += sections_from(SETTINGS_SCHEMA, SETTINGS_DEFAULTS, {}, owner=__name__)

__all__ = [
    "NODE_TYPES",
    "PROVIDERS",
    "SETTINGS_DEFAULTS",
    "SETTINGS_SCHEMA",
    "AmberPrices",
    "AmberUsage",
]
