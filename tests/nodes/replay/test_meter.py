"""The ``sample`` usage provider reads the simulated site's meter through the
``site_meter`` connection its host provides (``Engine(provided=...)``), never the
settings; without one it says there is no simulated site."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flowengine import Engine, VirtualClock, load_flow_text, run_to_end
from nodes.inputs import NODE_TYPES as INPUT_TYPES
from nodes.inputs.refresh import InputNode
from nodes.replay import NODE_TYPES, SITE_METER, SiteMeterConnection
from nodes.replay.profile import SampleProfile
from nodes.replay.providers import ReplayUsage
from nodes.replay.sample import sample_slot_prices
from powermaster.sim.retailer import SimulatedRetailer
from powermaster.sim.site import SiteModel
from tests.flowengine.helpers import Collect
from tests.support.registry import registry

START = datetime(2026, 1, 15, 2, 0, tzinfo=UTC).timestamp()  # noon in Brisbane

FLOW = """
flow: settle
connections:
  - {id: site_meter, type: replay.meter}
nodes:
  - id: usage
    type: replay.usage
    wires: {out: [out], problem: [problem]}
  - {id: out, type: test.collect}
  - {id: problem, type: test.collect}
"""


def reg() -> Any:
    return registry(*INPUT_TYPES, *NODE_TYPES)


async def settle_once(engine: Engine) -> tuple[Any, list[Any]]:
    """Run the flow; the reading it gave and the problems."""
    Collect.seen = {}
    trace = await run_to_end(engine, "settle")
    assert trace.outcome == "ok", trace.error
    (reading,) = Collect.seen["out"]
    return reading, Collect.seen.get("problem", [])


async def test_the_usage_provider_reads_the_meter_through_its_connection() -> None:
    clock = VirtualClock(START)
    model = SiteModel(profile=SampleProfile.from_csv(), start=clock.time())
    retailer = SimulatedRetailer(model, sample_slot_prices)
    provided = SiteMeterConnection.of(retailer, clock)
    assert provided.connection_id == SITE_METER
    engine = Engine(reg(), clock, freeze_gc=False, provided=[provided])
    await engine.start(load_flow_text(FLOW, reg()))
    try:
        node = engine.flows["settle"].nodes["usage"].node
        assert isinstance(node, InputNode) and isinstance(node.provider, ReplayUsage)
        assert engine.connections[SITE_METER] is provided
        assert node.provider.meter is retailer
        assert SITE_METER not in node.ctx.settings
        await clock.advance(3600)  # two half-hour slots metered
        reading, problems = await settle_once(engine)
        assert problems == []
        assert reading["provider"] == "sample" and reading["kind"] == "usage"
        assert reading["data"]["intervals"] == retailer.usage(START, clock.time())
        assert [i["start"] for i in reading["data"]["intervals"]] == [START, START + 1800]
    finally:
        await engine.stop()
        engine.close()


async def test_without_a_provided_meter_there_is_no_simulated_site() -> None:
    """A real inverter's site or a flow test: the flows declare ``site_meter``, nobody
    provides one, the engine builds it empty."""
    clock = VirtualClock(START)
    engine = Engine(reg(), clock, freeze_gc=False)
    await engine.start(load_flow_text(FLOW, reg()))
    try:
        built = engine.connections[SITE_METER]
        assert isinstance(built, SiteMeterConnection) and built.meter is None
        reading, problems = await settle_once(engine)
        assert reading is None
        (problem,) = problems
        assert "no simulated site" in problem["error"]
    finally:
        await engine.stop()
        engine.close()
