"""PV forecasts from Solcast rooftop sites, within the hobbyist daily quota.

An input provider (``nodes.inputs``): ``sources.pv: solcast`` in site.yaml, or
the ``solcast.pv`` node type in a flow. Its settings live in the site config's
``solcast`` section (``SETTINGS_SCHEMA``, ``SETTINGS_DEFAULTS``, and
``SETTINGS_CHECKS`` for what a schema cannot say); ``schedule`` spreads the
day's calls where they are worth most.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flowengine.registry import Declared
from flowengine.settings import sections_from
from nodes.inputs.provider import Provider
from nodes.inputs.refresh import provider_node
from nodes.solcast import provider
from nodes.solcast.provider import SolcastPv

PROVIDERS: list[type[Provider]] = [SolcastPv]
NODE_TYPES: list[Declared] = [provider_node(SolcastPv)]
SETTINGS_SCHEMA: dict[str, dict[str, Any]] = {"solcast": provider.SETTINGS_SCHEMA}
SETTINGS_DEFAULTS: dict[str, dict[str, Any]] = {"solcast": provider.SETTINGS_DEFAULTS}
SETTINGS_CHECKS: dict[str, Callable[[Any], list[Any]]] = {"solcast": provider.check_settings}

NODE_TYPES += sections_from(SETTINGS_SCHEMA, SETTINGS_DEFAULTS, SETTINGS_CHECKS, owner=__name__)

__all__ = [
    "NODE_TYPES",
    "PROVIDERS",
    "SETTINGS_CHECKS",
    "SETTINGS_DEFAULTS",
    "SETTINGS_SCHEMA",
    "SolcastPv",
]
