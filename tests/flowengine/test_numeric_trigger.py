"""The context trigger's numeric form (Home Assistant's numeric_state): above, below, for."""

from __future__ import annotations

import pytest

from flowengine import VirtualClock, load_flow_text
from tests.flowengine.helpers import Collect, refusal, registry, start_engine

START = 1_765_000_000.0

FLOW = """
flow: full
triggers:
  - type: context
    key: global.telemetry.soc
    above: 0.9
    for: 10m
nodes:
  - {id: seen, type: test.collect}
"""


async def soc_at(engine, clock, minute: float, soc) -> None:  # type: ignore[no-untyped-def]
    await clock.run_until(START + minute * 60)
    engine.context.set("global", "telemetry", {"soc": soc, "pv_w": minute})


async def test_it_fires_once_the_value_has_stayed_above_for_the_whole_time() -> None:
    clock = VirtualClock(START)
    engine = await start_engine(FLOW, clock)
    await soc_at(engine, clock, 0, 0.85)
    await soc_at(engine, clock, 1, 0.92)  # enters
    await soc_at(engine, clock, 6, 0.88)  # leaves before 10 minutes: nothing
    await soc_at(engine, clock, 7, 0.93)  # enters again
    await soc_at(engine, clock, 12, 0.95)  # still inside: the timer keeps running
    await clock.run_until(START + 16 * 60)
    assert "seen" not in Collect.seen
    await clock.run_until(START + 17 * 60)
    # The value when it fires (0.95 since minute 12), and the one before it entered.
    assert Collect.seen["seen"] == [{"key": "global.telemetry.soc", "value": 0.95, "old": 0.88}]
    await soc_at(engine, clock, 30, 0.96)  # stays inside: no second firing
    await clock.run_until(START + 60 * 60)
    assert len(Collect.seen["seen"]) == 1
    await engine.stop()


async def test_without_for_it_fires_on_each_crossing_and_text_is_outside() -> None:
    clock = VirtualClock(START)
    engine = await start_engine(
        """
flow: low
triggers:
  - {type: context, key: global.grid, field: import_w, below: 100}
nodes:
  - {id: seen, type: test.collect}
""",
        clock,
    )
    for watts in (500, 50, 20, 300, "n/a", 10, None, 99):
        engine.context.set("global", "grid", {"import_w": watts})
        await clock.settle()
    assert [e["value"] for e in Collect.seen["seen"]] == [50, 10, 99]
    await engine.stop()


async def test_a_value_inside_at_start_up_fires_nothing_until_it_comes_back() -> None:
    clock = VirtualClock(START)
    from flowengine import Engine

    engine = Engine(registry(), clock)
    engine.context.set("global", "telemetry", {"soc": 0.95})
    Collect.seen = {}
    await engine.start(load_flow_text(FLOW, registry()))
    await soc_at(engine, clock, 20, 0.97)
    await clock.run_until(START + 40 * 60)
    assert "seen" not in Collect.seen
    await engine.stop()


@pytest.mark.parametrize(
    ("trigger", "message"),
    [
        (
            "{type: context, key: global.x, above: 5, below: 1}",
            "3:53: below (1) must be more than above (5)",
        ),
        (
            "{type: context, key: global.x, for: 10m}",
            "3:41: 'for' needs 'above' or 'below' to know what lasts",
        ),
        (
            "{type: context, key: global.x, above: high}",
            "3:43: 'triggers.0.above' must be a number, not text 'high'",
        ),
    ],
)
def test_a_range_that_cannot_fire_is_refused_with_its_place(trigger: str, message: str) -> None:
    text = f"flow: f\ntriggers:\n  - {trigger}\nnodes:\n  - {{id: a, type: core.passthrough}}\n"
    assert refusal(text) == f"f.yaml:{message}"
