"""The tariff provider behind an input node, in a real engine on virtual time."""

from __future__ import annotations

import copy
from datetime import datetime
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from flowengine import Engine, VirtualClock, load_flow_text
from nodes.inputs.refresh import input_status, kind_node, provider_node
from nodes.inputs.registry import providers
from nodes.tariff import TariffPrices
from tests.flowengine.helpers import Collect
from tests.nodes.tariff.test_tariff import WORKWEEK
from tests.support.registry import registry

SYDNEY = ZoneInfo("Australia/Sydney")
#: Monday 2 February 2026, 15:50 in Sydney (AEDT, UTC+11).
START = datetime(2026, 2, 2, 15, 50, tzinfo=SYDNEY).timestamp()

FLOW = """
flow: prices
triggers: [{type: interval, every: 5m}]
nodes:
  - id: prices
    type: %s
    wires: {out: [got], problem: [bad]}
  - {id: got, type: test.collect}
  - {id: bad, type: test.collect}
"""


async def start(node_type: str, settings: dict[str, Any]) -> tuple[Engine, VirtualClock]:
    reg = registry(kind_node("prices", "prices from sources.prices"), provider_node(TariffPrices))
    clock = VirtualClock(START)
    Collect.seen = {}
    engine = Engine(reg, clock, settings=settings)
    await engine.start(load_flow_text(FLOW % node_type, reg))
    return engine, clock


def local(hour: int, minute: int) -> float:
    return datetime(2026, 2, 2, hour, minute, tzinfo=SYDNEY).timestamp()


async def test_prices_for_48_hours_from_the_current_slot_renewed_each_slot() -> None:
    settings = {"site": {"timezone": "Australia/Sydney"}, "tariff": WORKWEEK}
    engine, clock = await start("tariff.prices", settings)
    await clock.advance(20 * 60)  # runs at 15:55, 16:00, 16:05, 16:10
    got = Collect.seen["got"]
    assert [r["issued_at"] for r in got] == [local(15, 55)] + [local(16, 0)] * 3
    assert "bad" not in Collect.seen
    reading = got[-1]
    assert (reading["kind"], reading["provider"]) == ("prices", "tariff")
    intervals = reading["data"]["intervals"]
    assert len(intervals) == 96
    assert all(a["end"] == b["start"] for a, b in pairwise(intervals))
    assert intervals[0]["start"] == local(16, 0)
    assert intervals[-1]["end"] == local(16, 0) + 48 * 3600
    first, second = intervals[0], intervals[1]
    assert (first["type"], first["descriptor"], first["import_price"]) == ("current", "peak", 0.45)
    assert first["export_price"] == 0.08
    assert second["type"] == "forecast"
    assert engine.context.get("global", "prices") == reading
    health = input_status(engine.context.get("global", "input_health")["prices"], clock.time())
    assert (health["provider"], health["stale"], health["failures"]) == ("tariff", False, 0)
    earlier = got[0]["data"]["intervals"][0]
    assert (earlier["start"], earlier["descriptor"]) == (local(15, 30), "solar sponge")
    await engine.stop()
    engine.close()


async def test_an_unusable_tariff_goes_out_of_problem_and_nothing_reaches_globals() -> None:
    tariff = copy.deepcopy(WORKWEEK)
    tariff["import"].pop(1)  # no weekend evening
    settings = {
        "site": {"timezone": "Australia/Sydney"},
        "sources": {"prices": "tariff"},
        "tariff": tariff,
    }
    engine, clock = await start("inputs.prices", settings)
    assert providers("prices")["tariff"] is TariffPrices
    await clock.advance(5 * 60)
    [problem] = Collect.seen["bad"]
    assert problem == {
        "kind": "prices",
        "provider": "tariff",
        "error": "tariff settings: tariff.import: no import band covers weekends 16:00-21:00",
        "kept": None,
    }
    assert Collect.seen["got"] == [None]
    assert engine.context.get("global", "prices") is None
    health = input_status(engine.context.get("global", "input_health")["prices"], clock.time())
    assert health["stale"] is True and "weekends 16:00-21:00" in health["last_error"]
    await engine.stop()
    engine.close()
