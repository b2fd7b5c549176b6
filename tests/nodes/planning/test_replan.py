"""Re-planning early: a spike the plan did not expect, a cost shift, SOC drift, cool-down."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flowengine import Engine, Registry, VirtualClock, load_flow_text
from nodes.core import CONNECTION_TYPES, NODE_TYPES
from nodes.planning.replan import ReplanCheck, cost_shift, expected_soc
from tests.flowengine.helpers import Collect

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def plan(created: datetime, soc_start: float = 0.5) -> dict[str, Any]:
    slots = []
    for i in range(4):
        slots.append(
            {
                "start": (T0 + timedelta(minutes=30 * i)).isoformat(),
                "soc_end": soc_start + 0.1 * (i + 1),
                "grid_import_w": 2000.0,
                "grid_export_w": 0.0,
                "import_price": 0.20,
                "export_price": 0.05,
                "pv_w": 0.0,
                "load_w": 500.0,
            }
        )
    return {"created_at": created.isoformat(), "slots": slots, "built_from": {"soc": soc_start}}


def forecast(price: float = 0.20) -> dict[str, Any]:
    return {
        "start": T0.timestamp(),
        "slot_seconds": 1800,
        "import_price": [price] * 4,
        "export_price": [0.05] * 4,
        "pv_w": [0.0] * 4,
        "load_w": [500.0] * 4,
    }


def test_expected_soc_follows_the_plans_path() -> None:
    p = plan(T0)
    assert expected_soc(p, T0.timestamp()) == 0.5
    soc = expected_soc(p, T0.timestamp() + 900)
    assert soc is not None and abs(soc - 0.55) < 1e-9
    assert expected_soc(p, T0.timestamp() + 3 * 3600) is None


def test_cost_shift_values_price_moves_on_the_plans_flows() -> None:
    assert cost_shift(plan(T0), forecast()) == 0.0
    # 2 kW for 4 half-hours = 4 kWh, 10c dearer: $0.40
    assert abs(cost_shift(plan(T0), forecast(0.30)) - 0.40) < 1e-9


FLOWS = """
flow: check
nodes:
  - {id: check, type: planning.replan_check, config: {cool_down: 10m}}
"""
PLAN_FLOW = """
flow: plan
mode: queued
nodes:
  - {id: got, type: test.collect}
"""


async def run_check(clock: VirtualClock, state: dict[str, Any], payload: dict[str, Any]) -> str:
    registry = Registry()
    registry.add_all([*NODE_TYPES, *CONNECTION_TYPES, ReplanCheck, Collect])
    flowset = load_flow_text(FLOWS, registry)
    flowset.flows.update(load_flow_text(PLAN_FLOW, registry).flows)
    engine = Engine(registry, clock)
    await engine.start(flowset)
    for key, value in state.items():
        engine.context.set("global", key, value)
    Collect.seen = {}
    handle = engine.start_run("check", payload)
    assert handle is not None
    trace = await handle.wait()
    await clock.advance(1)
    output = trace.steps[0].output
    assert output is not None
    reason = output["out"]["reason"]
    assert bool(Collect.seen.get("got")) == bool(reason)
    await engine.stop()
    return str(reason)


async def test_replan_reasons() -> None:
    clock = VirtualClock(T0 + timedelta(minutes=20))
    old = plan(T0 - timedelta(hours=1))
    assert await run_check(clock, {}, forecast()) == "no plan"
    assert await run_check(clock, {"plan": old, "telemetry": {"soc": 0.56}}, forecast()) == ""
    spike = await run_check(clock, {"plan": old}, forecast(1.50))
    assert spike.startswith("price spike: 150c/kWh")
    drift = await run_check(clock, {"plan": old, "telemetry": {"soc": 0.80}}, forecast())
    assert drift.startswith("SOC 80% strayed")
    moved = await run_check(clock, {"plan": old, "telemetry": {"soc": 0.56}}, forecast(0.40))
    assert moved == "forecast moved the plan's cost by $0.80"
    fresh = plan(T0 + timedelta(minutes=15))
    assert await run_check(clock, {"plan": fresh, "telemetry": {"soc": 0.9}}, forecast(0.4)) == ""
