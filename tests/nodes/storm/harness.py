"""An engine with the weather, BOM and storm node types on a virtual clock (runs are driven
with ``flowengine.run_to_end``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flowengine import Engine, VirtualClock, load_flow_text
from nodes import bom, storm
from nodes import open_meteo as weather
from nodes.inputs import NODE_TYPES as INPUT_TYPES
from tests.flowengine.helpers import Collect
from tests.support.registry import registry

PROVIDERS = [*weather.PROVIDERS, *bom.PROVIDERS]


async def start(
    flow: str,
    clock: VirtualClock,
    settings: Mapping[str, Any],
    database: Path | str = ":memory:",
) -> Engine:
    Collect.seen = {}
    reg = registry(*INPUT_TYPES, *weather.NODE_TYPES, *bom.NODE_TYPES, *storm.NODE_TYPES)
    engine = Engine(reg, clock, database, settings=settings)
    await engine.start(load_flow_text(flow, reg))
    return engine


def seen(node: str) -> list[Any]:
    """What a test.collect node got since the engine started (or the last ``forget``)."""
    return Collect.seen.get(node, [])


def forget() -> None:
    Collect.seen = {}
