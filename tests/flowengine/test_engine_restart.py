"""An engine stopped and started again on the same flows: what a settings reload does."""

from __future__ import annotations

import asyncio
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


async def test_the_clock_waits_for_the_engine_started_after_a_stopped_one() -> None:
    """A restarted service builds a new engine on the same virtual clock: the clock must
    settle on the new engine's runs, not the stopped one's (it used to keep the first)."""
    clock = VirtualClock(START)
    docs = [parse_text(part, f"{i}.yaml") for i, part in enumerate(FLOWS.split("---\n"))]
    first = Engine(registry(), clock)
    await first.start(load_docs(docs, registry()))
    assert clock.settle_hook == first.settle
    await first.stop()
    second = Engine(registry(), clock)
    await second.start(load_docs(docs, registry()))
    try:
        assert clock.settle_hook == second.settle
    finally:
        await second.stop()


async def test_a_clock_wait_ended_by_its_future_is_awake_at_once() -> None:
    """Between its future finishing and the task running again, a waiter must not count
    as waiting for time, or a settle would move the clock on without it."""
    clock = VirtualClock(START)
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    waiter = asyncio.create_task(clock.wait_for(done, 600))
    await asyncio.sleep(0)
    assert waiter in clock.sleeping_tasks
    done.set_result(None)
    await asyncio.sleep(0)  # the future's callbacks run; the waiter is only queued to resume
    assert not waiter.done() and waiter not in clock.sleeping_tasks
    assert await waiter is True and clock.time() == START
