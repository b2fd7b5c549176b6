"""An engine with the weather, BOM and storm node types on a virtual clock, and a run driver."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flowengine import Engine, Registry, VirtualClock, load_flow_text
from flowengine.traces import RunTrace
from nodes import bom, storm, weather
from nodes.core import CONNECTION_TYPES
from nodes.core import NODE_TYPES as CORE_TYPES
from nodes.inputs import NODE_TYPES as INPUT_TYPES
from tests.flowengine.helpers import TEST_TYPES, Collect

PROVIDERS = [*weather.PROVIDERS, *bom.PROVIDERS]


def registry() -> Registry:
    reg = Registry()
    reg.add_all([*CORE_TYPES, *CONNECTION_TYPES, *TEST_TYPES, *INPUT_TYPES])
    reg.add_all([*weather.NODE_TYPES, *bom.NODE_TYPES, *storm.NODE_TYPES])
    return reg


async def start(
    flow: str,
    clock: VirtualClock,
    settings: Mapping[str, Any],
    database: Path | str = ":memory:",
) -> Engine:
    Collect.seen = {}
    reg = registry()
    engine = Engine(reg, clock, database, settings=settings)
    await engine.start(load_flow_text(flow, reg))
    return engine


async def run(engine: Engine, clock: VirtualClock, flow: str, payload: Any = None) -> RunTrace:
    """One run to its end; virtual time moves only while it sleeps (retries, backoff)."""
    handle = engine.start_run(flow, payload)
    assert handle is not None
    waiting = asyncio.ensure_future(handle.wait())
    for _ in range(1000):
        await clock.settle()
        await asyncio.sleep(0)
        if waiting.done():
            return waiting.result()
        deadline = clock.next_deadline()
        if deadline is not None:
            await clock.run_until(deadline)
    raise AssertionError(f"run of {flow} did not finish")


def seen(node: str) -> list[Any]:
    """What a test.collect node got since the engine started (or the last ``forget``)."""
    return Collect.seen.get(node, [])


def forget() -> None:
    Collect.seen = {}
