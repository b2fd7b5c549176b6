"""An engine stopped and started again on the same flows: what a settings reload does."""

from __future__ import annotations

from datetime import UTC, datetime

from flowengine import Engine, VirtualClock
from flowengine.validate import load_docs
from flowengine.yamlsource import parse_text
from tests.flowengine.helpers import registry

START = datetime(2026, 1, 5, 0, 0, tzinfo=UTC).timestamp()

FLOWS = """
flow: tick
triggers: [{type: start}, {type: interval, every: 60}]
nodes:
  - {id: count, type: core.set, config: {payload: 1}, wires: [keep]}
  - {id: keep, type: core.context_set, config: {key: global.ticked}}
---
flow: slow
mode: queued
nodes:
  - {id: nap, type: test.sleep, config: {seconds: 600}}
"""


async def test_a_stopped_engine_starts_again_with_its_context_and_fresh_flows() -> None:
    clock = VirtualClock(START)
    engine = Engine(registry(), clock)
    docs = [parse_text(part, f"{i}.yaml") for i, part in enumerate(FLOWS.split("---\n"))]
    await engine.start(load_docs(docs, registry()))
    await clock.advance(120)
    engine.context.set("global", "kept", {"a": 1})
    first = engine.flows["tick"]
    assert first.nodes["count"].count == 3  # at start, +60 s, +120 s
    napping = engine.start_run("slow")
    queued = engine.start_run("slow")
    assert napping is not None and queued is not None
    await engine.stop(grace=30.0)  # the nap waits on virtual time: not waited for
    assert (await napping.wait()).outcome == "cancelled" and queued.done.cancelled()
    assert not engine.started and clock.time() == START + 120

    await engine.start(engine.flowset)
    await clock.advance(60)
    again = engine.flows["tick"]
    assert again is not first and again.nodes["count"].count == 2  # its start, +60 s
    assert engine.context.get("global", "kept") == {"a": 1}
    assert [run["outcome"] for run in engine.traces.recent("slow")] == ["cancelled"]
    await engine.stop()
    engine.close()
