"""The ``sample`` prices provider replays the dataset its host provides through the
``replay_dataset`` connection (a backtest's scenario), never the settings; without one,
the shipped sample data."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flowengine import Engine, VirtualClock, load_flow_text, run_to_end
from nodes.inputs import NODE_TYPES as INPUT_TYPES
from nodes.replay import NODE_TYPES, REPLAY_DATASET, ReplayDatasetConnection
from nodes.replay.sample import sample_slot_prices
from tests.flowengine.helpers import Collect
from tests.support.registry import registry

START = datetime(2026, 1, 15, 2, 0, tzinfo=UTC).timestamp()  # noon in Brisbane

FLOW = """
flow: prices
connections:
  - {id: replay_dataset, type: replay.dataset}
nodes:
  - id: prices
    type: replay.prices
    wires: {out: [out], problem: [problem]}
  - {id: out, type: test.collect}
  - {id: problem, type: test.collect}
"""


class FlatPrices:
    """A scenario where every slot costs 42c and pays 7c: unlike any sample slot."""

    slot_seconds = 1800

    def forecast(self, t: float, slots: int) -> dict[str, Any]:
        start = t - t % self.slot_seconds
        return {
            "start": start,
            "slot_seconds": self.slot_seconds,
            "import_price": [0.42] * slots,
            "export_price": [0.07] * slots,
            "pv_w": [0.0] * slots,
        }


def reg() -> Any:
    return registry(*INPUT_TYPES, *NODE_TYPES)


async def first_price(engine: Engine) -> tuple[float, float]:
    Collect.seen = {}
    trace = await run_to_end(engine, "prices")
    assert trace.outcome == "ok", trace.error
    assert Collect.seen.get("problem", []) == []
    (reading,) = Collect.seen["out"]
    first = reading["data"]["intervals"][0]
    return first["import_price"], first["export_price"]


async def test_the_prices_provider_replays_the_provided_dataset() -> None:
    clock = VirtualClock(START)
    provided = ReplayDatasetConnection.of(FlatPrices(), clock)
    assert provided.connection_id == REPLAY_DATASET
    engine = Engine(reg(), clock, freeze_gc=False, provided=[provided])
    await engine.start(load_flow_text(FLOW, reg()))
    try:
        assert await first_price(engine) == (0.42, 0.07)
        assert REPLAY_DATASET not in engine.flows["prices"].nodes["prices"].node.ctx.settings
    finally:
        await engine.stop()
        engine.close()


async def test_without_a_provided_dataset_the_sample_data_is_replayed() -> None:
    clock = VirtualClock(START)
    engine = Engine(reg(), clock, freeze_gc=False)
    await engine.start(load_flow_text(FLOW, reg()))
    try:
        built = engine.connections[REPLAY_DATASET]
        assert isinstance(built, ReplayDatasetConnection) and built.dataset is None
        assert await first_price(engine) == sample_slot_prices(START)
    finally:
        await engine.stop()
        engine.close()
