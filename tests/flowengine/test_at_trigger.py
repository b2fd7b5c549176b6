"""The ``at`` trigger, on virtual time: a run when the clock reaches the time held in a
context key, armed again whenever the key changes, and nothing for a time gone by."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest

from flowengine import Engine, InvalidFlows, Message, Node, Registry, VirtualClock, load_flow_text
from nodes.core import CONNECTION_TYPES, NODE_TYPES

START = datetime(2026, 1, 5, tzinfo=UTC).timestamp()

FLOW = """
flow: control
triggers: [{type: at, key: global.override.until}]
nodes:
  - {id: stamp, type: test.at_stamp}
"""


class Stamp(Node):
    type_name = "test.at_stamp"
    description = "Remembers when it ran, on the engine's clock, and with what payload."
    seen: ClassVar[list[tuple[float, Any]]] = []

    def process(self, msg: Message) -> None:
        Stamp.seen.append((self.ctx.clock.time(), msg.payload))


def reg() -> Registry:
    types = Registry()
    types.add_all([*NODE_TYPES, *CONNECTION_TYPES, Stamp])
    return types


async def start(clock: VirtualClock, text: str = FLOW, **stored: Any) -> Engine:
    """An engine running ``text``, with ``stored`` in the global context before it starts."""
    Stamp.seen = []
    engine = Engine(reg(), clock)
    for key, value in stored.items():
        engine.context.set("global", key, value)
    await engine.start(load_flow_text(text, reg()))
    return engine


def fired() -> list[float]:
    return [at - START for at, _ in Stamp.seen]


async def test_it_fires_once_when_the_clock_reaches_the_time_in_the_key() -> None:
    clock = VirtualClock(START)
    engine = await start(clock)
    engine.context.set("global", "override", {"mode": "hold", "until": START + 600})
    await clock.advance(3600)
    assert fired() == [600]
    assert Stamp.seen[0][1] == {"key": "global.override.until", "at": START + 600}
    run = engine.traces.recent("control", 1)[0]
    assert run["trigger"] == "at global.override.until"
    await engine.stop()


async def test_a_changed_time_replaces_the_one_waited_for() -> None:
    clock = VirtualClock(START)
    engine = await start(clock)
    engine.context.set("global", "override", {"until": START + 600})
    engine.context.set("global", "override", {"until": START + 300})  # sooner
    await clock.advance(400)
    engine.context.set("global", "override", {"until": START + 900})  # a new one, later
    engine.context.set("global", "override", {"until": START + 1200})  # extended
    await clock.advance(3600)
    assert fired() == [300, 1200]
    await engine.stop()


@pytest.mark.parametrize(
    "value",
    [None, {"mode": "hold"}, {"until": "soon"}, {"until": True}, {"until": START}, {"until": 1.0}],
)
async def test_no_time_still_to_come_fires_nothing(value: Any) -> None:
    clock = VirtualClock(START)
    engine = await start(clock)
    engine.context.set("global", "override", {"until": START + 600})
    engine.context.set("global", "override", value)  # cleared, or no time to wait for
    await clock.advance(3600)
    assert fired() == []
    await engine.stop()


async def test_a_time_stored_before_the_start_is_waited_for_and_a_past_one_is_not() -> None:
    clock = VirtualClock(START)
    engine = await start(clock, override={"until": START + 600})
    await clock.advance(3600)
    assert fired() == [600]
    await engine.stop()
    engine.close()
    engine = await start(clock, override={"until": clock.time() - 1})
    await clock.advance(3600)
    assert fired() == []
    await engine.stop()


async def test_a_flow_key_is_the_flows_own() -> None:
    clock = VirtualClock(START)
    text = FLOW.replace("global.override.until", "flow.wake")
    engine = await start(clock, text)
    engine.context.set("global", "wake", START + 100)
    engine.context.set("flow:control", "wake", START + 200)
    await clock.advance(3600)
    assert fired() == [200]
    await engine.stop()


async def test_a_stopped_trigger_leaves_nothing_waiting_on_the_clock() -> None:
    clock = VirtualClock(START)
    engine = await start(clock, override={"until": START + 600})
    await clock.advance(0)
    assert clock.next_deadline() == START + 600
    await engine.stop()
    assert clock.next_deadline() is None
    engine.context.set("global", "override", {"until": START + 900})  # no one listens
    await clock.advance(3600)
    assert fired() == []


async def test_its_key_is_read_by_the_flow_and_checked_as_a_context_triggers_is() -> None:
    flowset = load_flow_text(FLOW, reg())
    assert "override" in flowset.flows["control"].reads
    for bad, said in [
        ("{type: at}", "needs 'key'"),
        ("{type: at, key: override.until}", "key"),
        ("{type: at, key: global.override, field: until}", "unknown key 'field'"),
    ]:
        with pytest.raises(InvalidFlows) as refused:
            load_flow_text(FLOW.replace("{type: at, key: global.override.until}", bad), reg())
        assert said in str(refused.value)
