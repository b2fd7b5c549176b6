"""Engine semantics: fan-out isolation, failures, run modes, triggers on virtual time."""

from __future__ import annotations

import itertools
import logging
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flowengine import (
    Engine,
    Message,
    Node,
    NodeFailure,
    VirtualClock,
    load_flow_files,
    load_flow_text,
)
from tests.flowengine.helpers import Collect, registry, start_engine

START = datetime(2026, 1, 5, 0, 0, tzinfo=UTC).timestamp()


async def test_fan_out_branches_do_not_see_each_others_edits() -> None:
    clock = VirtualClock(START)
    engine = await start_engine(
        """
flow: fan
nodes:
  - {id: src, type: core.passthrough, wires: [left, right]}
  - {id: left, type: test.append, config: {item: L}, wires: [seen_left]}
  - {id: right, type: test.append, config: {item: R}, wires: [seen_right]}
  - {id: seen_left, type: test.collect}
  - {id: seen_right, type: test.collect}
""",
        clock,
    )
    handle = engine.start_run("fan", [])
    assert handle is not None
    trace = await handle.wait()
    assert trace.outcome == "ok"
    assert Collect.seen == {"seen_left": [["L"]], "seen_right": [["R"]]}
    await engine.stop()


async def test_one_message_given_on_two_ports_is_copied_for_the_second() -> None:
    clock = VirtualClock(START)
    engine = await start_engine(
        """
flow: ports
nodes:
  - {id: src, type: test.twice, wires: {one: [left], two: [right]}}
  - {id: left, type: test.append, config: {item: L}, wires: [seen_left]}
  - {id: right, type: test.append, config: {item: R}, wires: [seen_right]}
  - {id: seen_left, type: test.collect}
  - {id: seen_right, type: test.collect}
""",
        clock,
    )
    handle = engine.start_run("ports", [])
    assert handle is not None
    assert (await handle.wait()).outcome == "ok"
    assert Collect.seen == {"seen_left": [["L"]], "seen_right": [["R"]]}
    await engine.stop()


async def test_single_wire_passes_the_same_object() -> None:
    clock = VirtualClock(START)
    engine = await start_engine(
        """
flow: chain
nodes:
  - {id: a, type: core.passthrough, wires: [b]}
  - {id: b, type: test.collect}
""",
        clock,
    )
    payload: list[str] = []
    handle = engine.start_run("chain", payload)
    assert handle is not None
    await handle.wait()
    assert Collect.seen["b"][0] is payload
    await engine.stop()


async def test_a_failing_node_fails_its_run_and_routes_to_its_error_port() -> None:
    clock = VirtualClock(START)
    engine = await start_engine(
        """
flow: risky
nodes:
  - id: bad
    type: test.fail
    wires: {out: [never], error: [handler]}
  - {id: never, type: test.collect}
  - {id: handler, type: test.collect}
""",
        clock,
    )
    handle = engine.start_run("risky", 7)
    assert handle is not None
    trace = await handle.wait()
    assert trace.outcome == "error"
    assert trace.error == "bad: RuntimeError: boom"
    assert "never" not in Collect.seen
    (error,) = Collect.seen["handler"]
    assert error["node"] == "bad" and error["error"] == "RuntimeError: boom"
    assert error["payload"] == 7
    assert engine.flows["risky"].nodes["bad"].status["state"] == "error"
    await engine.stop()


async def test_failure_goes_to_the_error_flow_and_other_flows_carry_on() -> None:
    clock = VirtualClock(START)
    text_risky = """
flow: risky
on_error: errors
triggers: [{type: interval, every: 60}]
nodes:
  - {id: bad, type: test.fail}
"""

    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "risky.yaml").write_text(text_risky)
        Path(tmp, "errors.yaml").write_text(
            "flow: errors\nmode: queued\nnodes:\n  - {id: got, type: test.collect}\n"
        )
        Path(tmp, "healthy.yaml").write_text(
            "flow: healthy\ntriggers: [{type: interval, every: 60}]\n"
            "nodes:\n  - {id: ok, type: test.collect}\n"
        )
        flowset = load_flow_files(sorted(Path(tmp).glob("*.yaml")), registry())
    Collect.seen = {}
    engine = Engine(registry(), clock)
    await engine.start(flowset)
    await clock.advance(180)
    assert len(Collect.seen["got"]) == 3
    assert Collect.seen["got"][0]["flow"] == "risky"
    assert len(Collect.seen["ok"]) == 3
    await engine.stop()


async def test_interval_trigger_is_aligned_and_counts_right() -> None:
    clock = VirtualClock(START + 10)
    engine = await start_engine(
        """
flow: tick
triggers: [{type: interval, every: 5m}]
nodes:
  - {id: stamp, type: test.collect}
""",
        clock,
    )
    await clock.advance(3600)
    runs = engine.traces.recent("tick")
    assert len(runs) == 12
    starts = sorted(r["started"] for r in runs)
    assert starts[0] == START + 300
    assert all(b - a == 300 for a, b in itertools.pairwise(starts))
    await engine.stop()


async def test_cron_trigger_follows_the_timezone() -> None:
    clock = VirtualClock(START)  # 2026-01-05 00:00 UTC = 10:00 in Brisbane
    engine = await start_engine(
        """
flow: morning
triggers: [{type: cron, cron: "30 6 * * *"}]
nodes:
  - {id: stamp, type: test.collect}
""",
        clock,
        timezone="Australia/Brisbane",
    )
    await clock.advance(2 * 86400)
    starts = sorted(r["started"] for r in engine.traces.recent("morning"))
    assert [datetime.fromtimestamp(s, UTC).isoformat() for s in starts] == [
        "2026-01-05T20:30:00+00:00",
        "2026-01-06T20:30:00+00:00",
    ]
    await engine.stop()


SLOW = """
flow: slow
mode: {mode}
max_runs: 2
nodes:
  - {{id: wait, type: test.sleep, config: {{seconds: 100}}, wires: [done]}}
  - {{id: done, type: test.collect}}
"""


async def run_three_triggers(mode: str) -> tuple[list[int], dict[str, int]]:
    clock = VirtualClock(START)
    engine = await start_engine(SLOW.format(mode=mode), clock)
    handles = [engine.start_run("slow", n) for n in (1, 2, 3)]
    await clock.advance(1000)
    outcomes: dict[str, int] = {}
    for run in engine.traces.recent("slow"):
        outcomes[run["outcome"]] = outcomes.get(run["outcome"], 0) + 1
    done = Collect.seen.get("done", [])
    assert [h is None for h in handles].count(True) == {
        "single": 2,
        "restart": 0,
        "queued": 0,
        "parallel": 1,
    }[mode]
    await engine.stop()
    return done, outcomes


async def test_run_mode_single_drops_triggers_while_running() -> None:
    done, outcomes = await run_three_triggers("single")
    assert done == [1] and outcomes == {"ok": 1}


async def test_dropped_triggers_are_counted_and_logged_once_while_a_run_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A slow inverter drops a trigger at every tick: one warning says so, not one a tick;
    the next streak, after a run started, is told again."""
    clock = VirtualClock(START)
    engine = await start_engine(SLOW.format(mode="single"), clock)
    flow = engine.flows["slow"]
    with caplog.at_level(logging.WARNING, logger="flowengine"):
        for n in range(5):
            engine.start_run("slow", n)
        await clock.advance(150)  # that run ends; the next streak is a new one
        engine.start_run("slow", 5)
        engine.start_run("slow", 6)
    told = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert flow.dropped == 5
    assert (
        told
        == [
            "flow slow: manual trigger dropped, a run is still going (mode single) "
            "(further drops until a run starts are not logged)"
        ]
        * 2
    )
    await engine.stop()


async def test_run_mode_restart_cancels_the_running_one() -> None:
    done, outcomes = await run_three_triggers("restart")
    assert done == [3] and outcomes == {"cancelled": 2, "ok": 1}


async def test_run_mode_queued_runs_them_in_turn() -> None:
    clock = VirtualClock(START)
    engine = await start_engine(SLOW.format(mode="queued"), clock)
    for n in (1, 2, 3):
        engine.start_run("slow", n)
    await clock.advance(150)
    assert Collect.seen["done"] == [1]
    await clock.advance(200)
    assert Collect.seen["done"] == [1, 2, 3]
    await engine.stop()


async def test_run_mode_parallel_respects_max() -> None:
    done, outcomes = await run_three_triggers("parallel")
    assert sorted(done) == [1, 2] and outcomes == {"ok": 2}


async def test_a_slow_flow_does_not_stall_another() -> None:
    clock = VirtualClock(START)

    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "slow.yaml").write_text(
            "flow: slow\ntriggers: [{type: start}]\n"
            "nodes:\n  - {id: wait, type: test.sleep, config: {seconds: 86400}}\n"
        )
        Path(tmp, "fast.yaml").write_text(
            "flow: fast\ntriggers: [{type: interval, every: 60}]\n"
            "nodes:\n  - {id: ok, type: test.collect}\n"
        )
        flowset = load_flow_files(sorted(Path(tmp).glob("*.yaml")), registry())
    Collect.seen = {}
    engine = Engine(registry(), clock)
    await engine.start(flowset)
    await clock.advance(600)
    assert len(Collect.seen["ok"]) == 10
    assert engine.flows["slow"].active_runs == 1
    await engine.stop()


async def test_node_timeout_fails_the_run() -> None:
    clock = VirtualClock(START)
    engine = await start_engine(
        """
flow: t
nodes:
  - {id: wait, type: test.sleep, config: {seconds: 10}, timeout: 0.001}
""",
        clock,
    )
    handle = engine.start_run("t")
    assert handle is not None
    # wait_for uses the loop's real timer: the node sleeps on virtual time, so it times out.
    trace = await handle.wait()
    assert trace.outcome == "error" and "timed out" in (trace.error or "")
    await engine.stop()


async def test_context_trigger_fires_on_change_only() -> None:
    clock = VirtualClock(START)
    engine = await start_engine(
        """
flow: watcher
mode: queued
triggers: [{type: context, key: global.plan}]
nodes:
  - {id: got, type: test.collect}
""",
        clock,
    )
    engine.context.set("global", "plan", {"v": 1})
    engine.context.set("global", "plan", {"v": 1})
    engine.context.set("global", "other", 5)
    engine.context.set("global", "plan", {"v": 2})
    await clock.advance(1)
    assert [p["value"] for p in Collect.seen["got"]] == [{"v": 1}, {"v": 2}]
    await engine.stop()


class _Unreachable(Node):
    type_name = "test.unreachable"
    description = "Fails as the world does: a device that does not answer."

    def process(self, msg: Message) -> Message:
        raise NodeFailure("no answer from the gateway")


async def test_a_failure_the_world_causes_is_logged_in_one_line_a_bug_with_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    reg = registry()
    reg.add_node(_Unreachable)
    flow = """
flow: reach
nodes:
  - {id: ask, type: test.unreachable}
  - {id: bug, type: test.fail}
"""
    engine = Engine(reg, VirtualClock(START))
    await engine.start(load_flow_text(flow, reg))
    with caplog.at_level(logging.WARNING, logger="flowengine"):
        for node in ("ask", "bug"):
            handle = engine.start_run("reach", {}, to=(node,))
            assert handle is not None
            await handle.wait()
    said = [r.getMessage() for r in caplog.records if "failed" in r.getMessage()]
    assert said[0] == "flow reach, node ask failed: NodeFailure: no answer from the gateway"
    assert said[1].startswith("flow reach, node bug failed: RuntimeError: boom\nTraceback")
    await engine.stop()
