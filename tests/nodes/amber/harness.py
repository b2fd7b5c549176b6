"""An engine with the Amber node types and settings pointing at a fake Amber (runs are
driven with ``flowengine.run_to_end``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from flowengine import Engine, Message, Node, VirtualClock, load_flow_text
from flowengine.secrets import SecretRef, attach_secrets
from nodes import prices
from nodes.amber import NODE_TYPES
from nodes.inputs import NODE_TYPES as INPUT_TYPES
from tests.nodes.amber.fake_amber import API_KEY, SITE_ID, FakeAmber
from tests.support.registry import registry


class RecordTrigger(Node):
    type_name = "amber_test.record_trigger"
    description = "Remembers what started each run (msg.meta['trigger']) and passes it on."
    seen: ClassVar[list[Any]] = []

    def process(self, msg: Message) -> Message:
        RecordTrigger.seen.append(msg.meta.get("trigger"))
        return msg


def settings(server: FakeAmber, **amber: Any) -> dict[str, Any]:
    """Site settings as load_site_config leaves them: the key a bound ``!secret``."""
    section: dict[str, Any] = {
        "base_url": server.url,
        "api_key": SecretRef("amber_api_key"),
        "site_id": SITE_ID,
        "timeout_s": 5.0,
        **amber,
    }
    site: dict[str, Any] = {"amber": section, "sources": {"prices": "amber"}}
    assert attach_secrets(site, {"amber_api_key": API_KEY}) == []
    return site


async def start(
    flows: list[str],
    clock: VirtualClock,
    site: Mapping[str, Any],
    database: Path | str = ":memory:",
    data_dir: Path | str = ".",
) -> Engine:
    RecordTrigger.seen = []
    # prices.spike, for the spike tests (tests/nodes/prices)
    reg = registry(*INPUT_TYPES, *NODE_TYPES, *prices.NODE_TYPES, RecordTrigger)
    flowset = load_flow_text(flows[0], reg)
    for text in flows[1:]:
        more = load_flow_text(text, reg)
        flowset.flows.update(more.flows)
        flowset.connections.update(more.connections)
    engine = Engine(reg, clock, database, settings=site, data_dir=data_dir)
    await engine.start(flowset)
    return engine
