"""core.run_flow with wait: call another flow and go on with its core.reply, on the clock."""

from __future__ import annotations

from flowengine import Engine, VirtualClock
from flowengine.validate import load_docs
from flowengine.yamlsource import parse_text
from tests.flowengine.helpers import Collect, refusal, registry

START = 1_765_000_000.0

CALLEES = """
flow: double
nodes:
  - id: times_two
    type: core.change
    config: {rules: [{set: payload, expr: payload * 2}]}
    wires: [reply]
  - {id: reply, type: core.reply}
---
flow: slow
nodes:
  - {id: nap, type: test.sleep, config: {seconds: 60}, wires: [reply]}
  - {id: reply, type: core.reply}
---
flow: silent
nodes:
  - {id: nothing, type: core.passthrough}
"""


def caller(flow: str, wait: bool = True) -> str:
    options = "wait: true, timeout: 10s" if wait else "wait: false"
    return f"""
flow: caller_{flow}
nodes:
  - id: call
    type: core.run_flow
    config: {{flow: {flow}, {options}}}
    wires: {{out: [answer], error: [failed]}}
  - {{id: answer, type: test.collect}}
  - {{id: failed, type: test.collect}}
"""


async def engine_with_callers() -> tuple[Engine, VirtualClock]:
    text = "\n---\n".join([CALLEES, *(caller(f) for f in ("double", "slow", "silent"))])
    docs = [parse_text(part, f"f{i}.yaml") for i, part in enumerate(text.split("\n---\n"))]
    clock = VirtualClock(START)
    Collect.seen = {}
    engine = Engine(registry(), clock)
    await engine.start(load_docs(docs, registry()))
    return engine, clock


async def run(engine: Engine, clock: VirtualClock, flow: str, payload: object) -> None:
    handle = engine.start_run(flow, payload)
    assert handle is not None
    await clock.run_until(clock.time() + 120)
    await handle.wait()


async def test_the_reply_comes_back_to_the_caller() -> None:
    engine, clock = await engine_with_callers()
    await run(engine, clock, "caller_double", 21)
    assert Collect.seen["answer"] == [42]
    await engine.stop()


async def test_no_reply_within_the_timeout_fails_the_call_on_the_engine_clock() -> None:
    engine, clock = await engine_with_callers()
    await run(engine, clock, "caller_slow", 1)  # the callee sleeps 60 s; the call waits 10 s
    assert "flow 'slow' gave no reply within 10 s" in Collect.seen["failed"][0]["error"]
    await run(engine, clock, "caller_silent", 1)
    assert "ended without a core.reply" in Collect.seen["failed"][1]["error"]
    await engine.stop()


def test_a_timeout_without_wait_is_refused() -> None:
    text = "flow: f\nnodes:\n  - {id: c, type: core.run_flow, config: {flow: g, timeout: 5s}}\n"
    assert refusal(text) == "f.yaml:3:52: node 'c': a timeout needs wait: true"
