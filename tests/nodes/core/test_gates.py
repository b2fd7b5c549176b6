"""core.filter and core.throttle on the virtual clock; core.log lines that show; core.debug."""

from __future__ import annotations

import logging

import pytest

from flowengine import VirtualClock
from tests.flowengine.helpers import Collect, start_engine

START = 1_765_000_000.0


async def fire(engine, flow: str, payload, topic: str = "") -> None:  # type: ignore[no-untyped-def]
    engine.flows[flow].trigger(payload, source="test", topic=topic)


async def test_the_filter_passes_changes_only_per_topic_and_past_a_deadband() -> None:
    clock = VirtualClock(START)
    engine = await start_engine(
        """
flow: rbe
mode: queued
max_runs: 50
nodes:
  - {id: changes, type: core.filter, wires: [changed]}
  - {id: band, type: core.filter, config: {property: payload, deadband: 100}, wires: [moved]}
  - {id: changed, type: test.collect}
  - {id: moved, type: test.collect}
""",
        clock,
    )
    for payload, topic in (
        (1, "a"),
        (1, "a"),
        (1, "b"),
        (2, "a"),
        (150, "a"),
        (240, "a"),
        (251, "a"),
    ):
        await fire(engine, "rbe", payload, topic)
        await clock.settle()
    assert Collect.seen["changed"] == [1, 1, 2, 150, 240, 251]  # b is its own topic
    assert Collect.seen["moved"] == [1, 1, 150, 251]  # 240 is within 100 of 150
    await engine.stop()


async def test_the_throttle_lets_rate_per_period_through_and_drops_the_rest() -> None:
    clock = VirtualClock(START)
    engine = await start_engine(
        """
flow: relay
mode: queued
max_runs: 50
nodes:
  - {id: limit, type: core.throttle, config: {rate: 2, per: 1m}, wires: [out]}
  - {id: out, type: test.collect}
""",
        clock,
    )
    for second in range(0, 130, 10):  # a message every 10 s for 2 minutes
        await clock.run_until(START + second)
        await fire(engine, "relay", second)
        await clock.settle()
    assert Collect.seen["out"] == [0, 10, 60, 70, 120]
    status = engine.flows["relay"].nodes["limit"].status
    assert status["text"].startswith("passed") or status["text"].startswith("dropped")
    await engine.stop()


async def test_a_debounce_passes_only_the_last_of_a_burst() -> None:
    clock = VirtualClock(START)
    engine = await start_engine(
        """
flow: settle
mode: parallel
max_runs: 20
nodes:
  - {id: quiet, type: core.throttle, config: {debounce: 30s}, wires: [out]}
  - {id: out, type: test.collect}
""",
        clock,
    )
    for second, payload in ((0, "a"), (10, "b"), (20, "c"), (100, "d")):
        await clock.run_until(START + second)
        await fire(engine, "settle", payload)
    await clock.run_until(START + 200)
    assert Collect.seen["out"] == ["c", "d"]
    await engine.stop()


async def test_log_lines_come_from_a_template_are_cut_and_show_at_info(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = VirtualClock(START)
    engine = await start_engine(
        """
flow: tell
nodes:
  - id: why
    type: core.log
    config: {message: "not charging: SOC {{ payload.soc }} is below 0.9", level: info}
    wires: [whole]
  - {id: whole, type: core.log, config: {max_chars: 40}}
""",
        clock,
    )
    caplog.set_level(logging.INFO, logger="flowlog")
    handle = engine.start_run("tell", {"soc": 0.5, "history": list(range(500))})
    assert handle is not None
    await handle.wait()
    lines = [(r.name, r.getMessage()) for r in caplog.records if r.name.startswith("flowlog")]
    assert lines[0] == ("flowlog.tell.why", "not charging: SOC 0.5 is below 0.9")
    assert lines[1][0] == "flowlog.tell.whole"
    assert lines[1][1] == '{"history":[0,1,2,3,4,5,6,7,8,9,10,11,1…'
    assert len(lines[1][1]) == 40
    await engine.stop()


async def test_debug_publishes_what_passes_to_the_event_bus() -> None:
    clock = VirtualClock(START)
    engine = await start_engine(
        """
flow: look
nodes:
  - {id: show, type: core.debug, config: {show: "payload.soc * 100"}}
""",
        clock,
    )
    queue = engine.events.subscribe()
    handle = engine.start_run("look", {"soc": 0.5})
    assert handle is not None
    await handle.wait()
    events = [queue.get_nowait() for _ in range(queue.qsize())]
    debug = [e for e in events if e.get("type") == "debug"]
    assert [(e["flow"], e["node"], e["value"]) for e in debug] == [("look", "show", 50.0)]
    assert list(engine.events.debug) == debug  # kept for a panel that opens later
    await engine.stop()


async def test_the_filter_remembers_a_copy_so_a_later_edit_does_not_let_repeats_through() -> None:
    clock = VirtualClock(START)
    engine = await start_engine(
        """
flow: rbe
mode: queued
nodes:
  - {id: changes, type: core.filter, wires: [edit]}
  - id: edit
    type: core.change
    config: {rules: [{set: payload.seen, value: true}]}
    wires: [out]
  - {id: out, type: test.collect}
""",
        clock,
    )
    for _ in range(3):
        await fire(engine, "rbe", {"soc": 50})
        await clock.settle()
    assert Collect.seen["out"] == [{"soc": 50, "seen": True}]
    await engine.stop()
