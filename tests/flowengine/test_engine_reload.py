"""Engine.reload: only the flows that changed are replaced; the rest run on untouched."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest

from flowengine import Engine, FlowSet, Message, Node, NodeContext, Registry, VirtualClock
from flowengine.changes import FlowChanges, compare
from flowengine.validate import load_docs
from flowengine.yamlsource import parse_text
from tests.flowengine.helpers import Collect, registry

START = datetime(2026, 1, 5, 0, 0, tzinfo=UTC).timestamp()  # a multiple of every interval


class Picky(Node):
    type_name = "test.picky"
    description = "Refuses to be built, or to start, when its config says so."
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"build": {"type": "boolean"}, "start": {"type": "boolean"}},
        "additionalProperties": False,
    }

    def __init__(self, ctx: NodeContext, config: dict[str, Any]) -> None:
        super().__init__(ctx, config)
        if config.get("build") is False:
            raise ValueError("will not be built")

    async def start(self) -> None:
        if self.config.get("start") is False:
            raise OSError("will not start")

    def process(self, msg: Message) -> Message:
        return msg


class Gate(Node):
    type_name = "test.gate"
    description = "Waits for the test to open the gate (real work, not virtual time)."
    opened: ClassVar[asyncio.Event]

    async def process(self, msg: Message) -> Message:
        await Gate.opened.wait()
        return msg


def reg() -> Registry:
    base = registry()
    base.add_all([Picky, Gate])
    return base


TICK = """
flow: tick
triggers: [{type: start}, {type: interval, every: 60}]
nodes:
  - {id: set, type: core.set, config: {payload: v1}, wires: [tick_seen]}
  - {id: tick_seen, type: test.collect}
"""
OTHER = """
flow: other
triggers: [{type: interval, every: 60}]
nodes:
  - {id: set, type: core.set, config: {payload: o1}, wires: [other_seen]}
  - {id: other_seen, type: test.collect}
"""
SLOW = """
flow: slow
mode: parallel
nodes:
  - {id: nap, type: test.sleep, config: {seconds: 600}}
"""
DB = """
connections:
  - {id: db, type: core.sqlite, config: {file: one.db}}
"""


def flows(**files: str) -> FlowSet:
    docs = [parse_text(text, f"{name}.yaml") for name, text in files.items()]
    return load_docs(docs, reg())


async def engine_on(clock: VirtualClock, data_dir: Path | None = None, **files: str) -> Engine:
    Collect.seen = {}
    engine = Engine(reg(), clock, freeze_gc=False, data_dir=data_dir or ".")
    await engine.start(flows(**files))
    await clock.advance(0)  # the start triggers' runs
    return engine


def started(engine: Engine, flow_id: str) -> list[float]:
    return sorted(run["started"] - START for run in engine.traces.recent(flow_id))


async def test_a_changed_flow_takes_effect_and_the_others_run_on_untouched() -> None:
    clock = VirtualClock(START)
    engine = await engine_on(clock, tick=TICK, other=OTHER, slow=SLOW)
    await clock.advance(90)
    napping = engine.start_run("slow")
    assert napping is not None
    engine.context.set("flow:tick", "count", 2)
    engine.context.set("global", "kept", {"a": 1})
    tick, other, slow = engine.flows["tick"], engine.flows["other"], engine.flows["slow"]
    other_timer = other.triggers[0]

    changes = await engine.reload(flows(tick=TICK.replace("v1", "v2"), other=OTHER, slow=SLOW))

    assert changes == FlowChanges(changed=("tick",))
    assert engine.flows["tick"] is not tick and tick.triggers == []  # the old one is stopped
    assert engine.flows["other"] is other and other.triggers[0] is other_timer
    assert engine.flows["slow"] is slow and slow.active_runs == 1 and not napping.done.done()
    await clock.advance(150)  # to START + 240
    # v1 at its start and +60; v2 at its own start (+90: the reload) and each minute on
    assert Collect.seen["tick_seen"] == ["v1", "v1", "v2", "v2", "v2", "v2"]
    assert started(engine, "tick") == [0, 60, 90, 120, 180, 240]
    assert started(engine, "other") == [60, 120, 180, 240]  # its timer never restarted
    assert engine.context.get("flow:tick", "count") == 2
    assert engine.context.get("global", "kept") == {"a": 1}
    await clock.advance(600)
    assert (await napping.wait()).outcome == "ok"
    await engine.stop()


async def test_a_flow_changed_on_its_tick_does_not_tick_twice_for_that_instant() -> None:
    clock = VirtualClock(START)
    engine = await engine_on(clock, other=OTHER)
    await clock.advance(60)  # its tick for START + 60 is done
    await engine.reload(flows(other=OTHER.replace("o1", "o2")))
    await clock.advance(60)
    assert started(engine, "other") == [60, 120]
    assert Collect.seen["other_seen"] == ["o1", "o2"]
    await engine.stop()


async def test_unchanged_flows_are_not_restarted_and_nothing_else_happens() -> None:
    clock = VirtualClock(START)
    engine = await engine_on(clock, tick=TICK, other=OTHER)
    before = dict(engine.flows)
    changes = await engine.reload(flows(tick=TICK + "\n# a comment\n", other=OTHER))
    assert not changes and str(changes) == "nothing changed"
    assert engine.flows == before
    assert Collect.seen["tick_seen"] == ["v1"]  # its start trigger did not fire again
    await engine.stop()


async def test_an_added_flow_starts_and_a_removed_one_stops() -> None:
    clock = VirtualClock(START)
    engine = await engine_on(clock, tick=TICK, slow=SLOW)
    napping = engine.start_run("slow")
    assert napping is not None
    await clock.advance(30)

    changes = await engine.reload(flows(tick=TICK, other=OTHER), grace=5.0)

    assert changes == FlowChanges(added=("other",), removed=("slow",))
    assert list(engine.flows) == ["tick", "other"]
    assert (await napping.wait()).outcome == "cancelled"  # on virtual time: not waited for
    await clock.advance(30)
    assert started(engine, "other") == [60]
    with pytest.raises(KeyError):
        engine.start_run("slow")
    await engine.stop()


async def test_a_run_in_progress_of_a_changed_flow_finishes_within_the_grace() -> None:
    Gate.opened = asyncio.Event()
    gated = "flow: gated\nnodes:\n  - {id: gate, type: test.gate}\n"
    clock = VirtualClock(START)
    engine = await engine_on(clock, gated=gated)
    running = engine.start_run("gated")
    assert running is not None
    reload = asyncio.create_task(engine.reload(flows(gated=gated + "description: new\n"), 5.0))
    for _ in range(5):
        await asyncio.sleep(0)
    assert not reload.done()  # waiting for the run
    Gate.opened.set()
    assert (await reload).changed == ("gated",)
    assert (await running.wait()).outcome == "ok"
    await engine.stop()


async def test_a_changed_connection_restarts_every_flow(tmp_path: Path) -> None:
    clock = VirtualClock(START)
    engine = await engine_on(clock, tmp_path, tick=TICK, other=OTHER, db=DB)
    before = dict(engine.flows)
    changes = await engine.reload(flows(tick=TICK, other=OTHER, db=DB.replace("one", "two")))
    assert changes == FlowChanges(connections=("db",))
    assert all(engine.flows[f] is not before[f] for f in before)
    assert engine.connections["db"].config["file"] == "two.db"
    await engine.stop()


async def test_a_flow_that_cannot_be_built_changes_nothing() -> None:
    clock = VirtualClock(START)
    picky = "flow: picky\nnodes:\n  - {id: p, type: test.picky}\n"
    engine = await engine_on(clock, tick=TICK, picky=picky)
    before = dict(engine.flows)
    refusing = picky.replace("test.picky}", "test.picky, config: {build: false}}")
    with pytest.raises(ValueError, match="will not be built"):
        await engine.reload(flows(tick=TICK.replace("v1", "v2"), picky=refusing))
    assert engine.flows == before and all(flow.running for flow in before.values())
    await engine.stop()


async def test_a_flow_that_fails_to_start_puts_the_old_versions_back() -> None:
    clock = VirtualClock(START)
    picky = """
flow: picky
triggers: [{type: interval, every: 60}]
nodes:
  - {id: p, type: test.picky}
"""
    engine = await engine_on(clock, tick=TICK, picky=picky)
    old_set = engine.flowset
    failing = picky.replace("test.picky}", "test.picky, config: {start: false}}")
    with pytest.raises(OSError, match="will not start"):
        await engine.reload(flows(tick=TICK.replace("v1", "v2"), picky=failing))
    assert engine.flowset is old_set and not compare(old_set, flows(tick=TICK, picky=picky))
    await clock.advance(60)
    # the old tick, started again, ticks on (the new one may have run once before)
    assert engine.flows["tick"].nodes["set"].spec.config == {"payload": "v1"}
    assert Collect.seen["tick_seen"][-2:] == ["v1", "v1"]  # its start, then +60
    assert started(engine, "picky") == [60]
    await engine.stop()
