"""An engine with the Amber node types, settings pointing at a fake Amber, and a run driver."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from flowengine import Engine, Message, Node, Registry, VirtualClock, load_flow_text
from flowengine.secrets import SecretRef, attach_secrets
from flowengine.traces import RunTrace
from nodes.amber import NODE_TYPES
from nodes.core import CONNECTION_TYPES
from nodes.core import NODE_TYPES as CORE_TYPES
from nodes.inputs import NODE_TYPES as INPUT_TYPES
from tests.flowengine.helpers import TEST_TYPES
from tests.nodes.amber.fake_amber import API_KEY, SITE_ID, FakeAmber


class RecordTrigger(Node):
    type_name = "amber_test.record_trigger"
    description = "Remembers what started each run (msg.meta['trigger']) and passes it on."
    seen: ClassVar[list[Any]] = []

    def process(self, msg: Message) -> Message:
        RecordTrigger.seen.append(msg.meta.get("trigger"))
        return msg


def registry() -> Registry:
    reg = Registry()
    reg.add_all([*CORE_TYPES, *CONNECTION_TYPES, *TEST_TYPES, *INPUT_TYPES, *NODE_TYPES])
    reg.add_node(RecordTrigger)
    return reg


def settings(server: FakeAmber, data_dir: Path | None = None, **amber: Any) -> dict[str, Any]:
    """Site settings as load_site_config leaves them: the key a bound ``!secret``."""
    section: dict[str, Any] = {
        "base_url": server.url,
        "api_key": SecretRef("amber_api_key"),
        "site_id": SITE_ID,
        "timeout_s": 5.0,
        **amber,
    }
    site: dict[str, Any] = {"amber": section, "sources": {"prices": "amber"}}
    if data_dir is not None:
        site["data_dir"] = str(data_dir)
    assert attach_secrets(site, {"amber_api_key": API_KEY}) == []
    return site


async def start(
    flows: list[str],
    clock: VirtualClock,
    site: Mapping[str, Any],
    database: Path | str = ":memory:",
) -> Engine:
    RecordTrigger.seen = []
    reg = registry()
    flowset = load_flow_text(flows[0], reg)
    for text in flows[1:]:
        more = load_flow_text(text, reg)
        flowset.flows.update(more.flows)
        flowset.connections.update(more.connections)
    engine = Engine(reg, clock, database, settings=site)
    await engine.start(flowset)
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
