"""The control.health node in a flow of its own: keeps global.health, tells on every change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flowengine import Engine, VirtualClock, load_flow_text
from nodes.control import NODE_TYPES
from nodes.foxess.link import LINK_KEY
from powermaster.config import DEFAULTS
from tests.flowengine.helpers import registry

T0 = 1_750_000_200.0  # a multiple of 5 minutes

FLOW = """
flow: health
mode: single
triggers:
  - type: start
  - type: interval
    every: 1m
nodes:
  - id: check
    type: control.health
"""


async def start(tmp_path: Path, clock: VirtualClock) -> Engine:
    reg = registry()
    reg.add_all(NODE_TYPES)
    engine = Engine(reg, clock, tmp_path / "engine.db", settings=DEFAULTS)
    await engine.start(load_flow_text(FLOW, reg))
    return engine


def health(engine: Engine) -> dict[str, Any]:
    record: dict[str, Any] = engine.context.get("global", "health")
    return record


async def test_it_judges_every_minute_keeps_since_and_recovers(tmp_path: Path) -> None:
    clock = VirtualClock(T0)
    engine = await start(tmp_path, clock)
    try:
        await clock.advance(1)
        assert health(engine)["state"] == "ok"  # just started: nothing is late yet
        engine.context.set("global", "telemetry", {"timestamp": clock.time()})
        engine.context.set("global", "decision", {"at": clock.time()})
        for errors in (1, 2):
            engine.context.set(
                "global", LINK_KEY, {"consecutive_errors": errors, "error": "timed out"}
            )
            await clock.advance(60)
        record = health(engine)
        assert record["state"] == "degraded"
        assert record["reasons"] == ["Modbus: 2 errors in a row (timed out)"]
        assert record["since"] == T0 + 60  # when it turned degraded, not the latest run
        assert record["at"] == T0 + 120
        engine.context.set("global", LINK_KEY, {"consecutive_errors": 3, "error": "timed out"})
        await clock.advance(60)
        assert health(engine)["state"] == "safety"
        assert engine.flows["health"].nodes["check"].status["state"] == "error"
        engine.context.set("global", LINK_KEY, {"consecutive_errors": 0})
        engine.context.set("global", "telemetry", {"timestamp": clock.time()})
        engine.context.set("global", "decision", {"at": clock.time()})
        await clock.advance(60)
        record = health(engine)
        assert (record["state"], record["reasons"], record["since"]) == ("ok", [], T0 + 240)
        texts = [n["text"] for n in engine.events.notifications]
        assert texts == [  # once per change, both ways, with the reasons
            "health ok: every check passes",
            "health degraded: Modbus: 1 error (timed out)",
            "health safety: Modbus: 3 errors in a row (timed out)",
            "health ok again, safety for 1 min is over (Modbus: 3 errors in a row (timed out))",
        ]
    finally:
        await engine.stop()


async def test_it_keeps_judging_whatever_else_fails(tmp_path: Path) -> None:
    """Nothing it reads can make it fail: it never touches the inverter."""
    clock = VirtualClock(T0)
    engine = await start(tmp_path, clock)
    try:
        engine.context.set("global", "plan", {"created_at": "not a time", "slots": []})
        engine.context.set("global", "telemetry", {"timestamp": "garbage"})
        await clock.advance(20 * 60)
        runs = engine.traces.recent("health")
        assert runs and all(r["outcome"] == "ok" for r in runs)
        assert health(engine)["state"] == "safety"
    finally:
        await engine.stop()
