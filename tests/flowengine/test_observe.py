"""Watching flows run (``Engine.observe``), the live run events that watch the same way,
and ``run_to_end``, which drives a run over virtual time."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from flowengine import Engine, FlowObserver, Message, RealClock, VirtualClock, run_to_end
from tests.flowengine.helpers import registry, start_engine

START = datetime(2026, 1, 5, 0, 0, tzinfo=UTC).timestamp()

FLOWS = """
flow: watched
nodes:
  - {id: wait, type: test.sleep, config: {seconds: 90}, wires: [split]}
  - {id: split, type: test.split, wires: {low: [fail], high: [keep]}}
  - {id: fail, type: test.fail}
  - {id: keep, type: test.collect}
"""


class Log(FlowObserver):
    """Every event, as a tuple, in the order they came."""

    def __init__(self) -> None:
        self.seen: list[tuple[Any, ...]] = []

    def run_triggered(
        self, flow_id: str, run_id: str | None, payload: Any, source: str, at: float
    ) -> None:
        self.seen.append(("triggered", flow_id, run_id is not None, payload, source, at))

    def run_started(self, flow_id: str, run_id: str, source: str, at: float) -> None:
        self.seen.append(("started", flow_id, source, at))

    def step_started(
        self, flow_id: str, run_id: str, node_id: str, msg: Message, at: float
    ) -> None:
        self.seen.append(("in", node_id, msg.payload, at))

    def step_ended(
        self,
        flow_id: str,
        run_id: str,
        node_id: str,
        gave: Mapping[str, list[Message]],
        at: float,
    ) -> None:
        given = {port: [m.payload for m in messages] for port, messages in gave.items()}
        self.seen.append(("out", node_id, given, at))

    def step_failed(self, flow_id: str, run_id: str, node_id: str, error: str, at: float) -> None:
        self.seen.append(("failed", node_id, error, at))

    def run_ended(self, trace: Any) -> None:
        self.seen.append(("ended", trace.flow_id, trace.outcome, trace.finished))


async def test_an_observer_sees_each_run_and_step_with_its_node_and_virtual_time() -> None:
    clock = VirtualClock(START)
    engine = await start_engine(FLOWS, clock)
    log = Log()
    engine.observe(log)
    high = await run_to_end(engine, "watched", 12)
    low = await run_to_end(engine, "watched", 3, source="test")
    assert (high.outcome, low.outcome) == ("ok", "error")
    later = START + 90
    assert log.seen == [
        ("triggered", "watched", True, 12, "manual", START),
        ("started", "watched", "manual", START),
        ("in", "wait", 12, START),
        ("out", "wait", {"out": [12]}, later),
        ("in", "split", 12, later),
        ("out", "split", {"high": [12]}, later),
        ("in", "keep", 12, later),
        ("out", "keep", {}, later),
        ("ended", "watched", "ok", later),
        ("triggered", "watched", True, 3, "test", later),
        ("started", "watched", "test", later),
        ("in", "wait", 3, later),
        ("out", "wait", {"out": [3]}, later + 90),
        ("in", "split", 3, later + 90),
        ("out", "split", {"low": [3]}, later + 90),
        ("in", "fail", 3, later + 90),
        ("failed", "fail", "RuntimeError: boom", later + 90),
        ("ended", "watched", "error", later + 90),
    ]
    await engine.stop()


async def test_a_dropped_run_and_a_cancelled_step_are_told_too() -> None:
    clock = VirtualClock(START)
    engine = await start_engine(FLOWS, clock)  # mode single: a second run is dropped
    log = Log()
    engine.observe(log)
    assert engine.trigger("watched", 12) is not None
    await clock.settle()
    assert engine.trigger("watched", 13) is None
    await engine.stop()  # cancels the run asleep in 'wait'
    assert log.seen[-4:] == [
        ("in", "wait", 12, START),
        ("triggered", "watched", False, 13, "manual", START),
        ("failed", "wait", "cancelled", START),
        ("ended", "watched", "cancelled", START),
    ]


async def test_only_what_an_observer_overrides_is_called_and_it_can_stop() -> None:
    """An event nobody watches costs a step nothing but a check: the live events watch
    runs only, so an engine on its own calls nothing per step."""

    class Ends(FlowObserver):
        def __init__(self) -> None:
            self.outcomes: list[str] = []

        def run_ended(self, trace: Any) -> None:
            self.outcomes.append(trace.outcome)

    clock = VirtualClock(START)
    engine = await start_engine(FLOWS, clock)
    observers = engine.observers
    assert (observers.step_started, observers.step_ended, observers.step_failed) == ((), (), ())
    assert observers.run_triggered == ()
    ends = Ends()
    stop = engine.observe(ends)
    assert (observers.step_started, len(observers.run_ended)) == ((), 2)
    await run_to_end(engine, "watched", 12)
    stop()
    await run_to_end(engine, "watched", 3)
    assert ends.outcomes == ["ok"]
    assert len(observers.run_ended) == 1  # the live events'
    await engine.stop()


async def test_the_live_events_tell_runs_starting_and_ending_with_the_node_counts() -> None:
    clock = VirtualClock(START)
    engine = await start_engine(FLOWS, clock)
    queue = engine.events.subscribe()
    trace = await run_to_end(engine, "watched", 12)
    events = [queue.get_nowait() for _ in range(queue.qsize())]
    runs = [e for e in events if e["type"] in ("run_start", "run")]
    assert runs == [
        {
            "type": "run_start",
            "flow": "watched",
            "run_id": trace.run_id,
            "trigger": "manual",
            "at": START,
        },
        {
            "type": "run",
            "flow": "watched",
            "run_id": trace.run_id,
            "outcome": "ok",
            "error": None,
            "at": START + 90,
            "counts": {"wait": 1, "split": 1, "fail": 0, "keep": 1},
        },
    ]
    await engine.stop()


# -- run_to_end ----------------------------------------------------------------------


async def test_run_to_end_moves_virtual_time_only_as_far_as_the_run_waits() -> None:
    clock = VirtualClock(START)
    engine = await start_engine(
        FLOWS + "triggers: [{type: interval, every: 1h}]\n", clock
    )  # a timer that never stops: the run's end, not an idle clock, ends the drive
    trace = await run_to_end(engine, "watched", 12)
    assert (trace.outcome, trace.started, trace.finished) == ("ok", START, START + 90)
    assert clock.time() == START + 90
    await engine.stop()


async def test_run_to_end_gives_up_past_its_limit_and_on_a_dropped_run() -> None:
    clock = VirtualClock(START)
    engine = await start_engine(FLOWS, clock)
    with pytest.raises(TimeoutError, match="'watched' is still going after 60 s"):
        await run_to_end(engine, "watched", 12, limit=60)
    with pytest.raises(RuntimeError, match="flow 'watched' dropped the run"):
        await run_to_end(engine, "watched", 13)  # the first still sleeps, mode single
    await engine.stop()


async def test_run_to_end_wants_a_virtual_clock() -> None:
    engine = Engine(registry(), RealClock())
    with pytest.raises(TypeError, match="moves a VirtualClock"):
        await run_to_end(engine, "watched")
    engine.close()
