"""The planner node takes the storm reserve and soft SOC band from context and settings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flowengine import Engine, Registry, VirtualClock, load_flow_text
from nodes.core import CONNECTION_TYPES, NODE_TYPES
from nodes.planning.plan import Planner
from powermaster.config import merge_defaults

T0 = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
FLOW = """
flow: plan
nodes:
  - {id: solve, type: planning.plan}
"""


def forecast(n: int = 8) -> dict[str, Any]:
    # Dear now, cheap later: left alone the plan would empty the battery at once.
    return {
        "start": T0,
        "slot_seconds": 1800,
        "import_price": [0.60] * 4 + [0.10] * (n - 4),
        "export_price": [0.05] * n,
        "pv_w": [0.0] * n,
        "load_w": [2000.0] * n,
    }


async def plan_with(context: dict[str, Any], planner: dict[str, Any]) -> dict[str, Any]:
    registry = Registry()
    registry.add_all([*NODE_TYPES, *CONNECTION_TYPES, Planner])
    settings = merge_defaults({"planner": planner})
    engine = Engine(registry, VirtualClock(T0), settings=settings)
    await engine.start(load_flow_text(FLOW, registry))
    for key, value in context.items():
        engine.context.set("global", key, value)
    handle = engine.start_run("plan", forecast())
    assert handle is not None
    trace = await handle.wait()
    assert trace.outcome == "ok", trace.error
    await engine.stop()
    return trace.steps[0].output["out"]  # type: ignore[index,no-any-return]


async def test_storm_reserve_is_held_over_its_window() -> None:
    telemetry = {"soc": 0.8}
    free = await plan_with({"telemetry": telemetry}, {})
    assert min(s["soc_end"] for s in free["slots"][:4]) < 0.5
    reserve = {"soc": 0.7, "start": T0, "end": T0 + 4 * 1800}
    held = await plan_with({"telemetry": telemetry, "storm_reserve": reserve}, {})
    assert min(s["soc_end"] for s in held["slots"][:4]) >= 0.7 - 1e-6
    assert held["built_from"]["soc"] == 0.8


async def test_soft_band_is_a_price_not_a_wall() -> None:
    telemetry = {"soc": 0.8}
    band = {"soft_soc_min": 0.6, "soft_soc_penalty_per_kwh": 5.0}
    kept = await plan_with({"telemetry": telemetry}, band)
    assert min(s["soc_end"] for s in kept["slots"][:4]) >= 0.6 - 1e-6
    cheap = await plan_with({"telemetry": telemetry}, {**band, "soft_soc_penalty_per_kwh": 0.01})
    assert min(s["soc_end"] for s in cheap["slots"][:4]) < 0.6
