"""Amber's metered usage: fetched from a local server speaking its API, checked by hand."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from flowengine import Engine, VirtualClock
from nodes.amber.usage import to_usage
from nodes.inputs.provider import InvalidPayload
from tests.flowengine.helpers import Collect
from tests.nodes.amber.fake_amber import SITE_ID, FakeAmber, payload
from tests.nodes.amber.harness import run, settings, start
from tests.support.mosquitto import free_port

#: 2025-02-02 09:00 NEM time: the day after the fixture's intervals.
T0 = datetime(2025, 2, 1, 23, 0, tzinfo=UTC).timestamp()

USAGE_FLOW = """
flow: usage
connections:
  - {id: web, type: core.http}
  - {id: db, type: core.sqlite, config: {file: site.db}}
nodes:
  - id: usage
    type: amber.usage
    config: {database: db}
    wires: {out: [out], problem: [problem]}
  - {id: out, type: test.collect}
  - {id: problem, type: test.collect}
"""


def test_channels_become_one_slot_each_way() -> None:
    usage = to_usage(payload("usage_20250201"))
    assert len(usage) == 8
    spike = next(u for u in usage if u["end"] == datetime(2025, 2, 1, 8, tzinfo=UTC).timestamp())
    # 1.21 kWh exported at a feed-in price of -512.57323 c/kWh (earning $5.13/kWh).
    assert spike["export_kwh"] == pytest.approx(1.21)
    assert spike["export_revenue"] == pytest.approx(1.21 * 5.1257323)
    assert spike["import_kwh"] == 0.0 and spike["quality"] == "billable"
    assert spike["end"] - spike["start"] == 1800
    assert usage[-1]["quality"] == "estimated"  # one channel estimated: the slot is


def test_controlled_load_is_an_import_and_a_credit_is_revenue() -> None:
    base = payload("usage_20250201")[0]
    general = {**base, "channelType": "general", "kwh": 0.5, "cost": 12.0}
    controlled = {**base, "channelType": "controlledLoad", "channelIdentifier": "E2",
                  "kwh": 1.0, "cost": 15.0}
    feed_in = {**base, "channelType": "feedIn", "channelIdentifier": "B1",
               "kwh": -2.0, "cost": -10.0}
    [slot] = to_usage([general, controlled, feed_in])
    assert (slot["import_kwh"], slot["import_cost"]) == (1.5, pytest.approx(0.27))
    assert (slot["export_kwh"], slot["export_revenue"]) == (2.0, pytest.approx(0.10))
    with pytest.raises(InvalidPayload, match=r"usage\[0\]: a feedIn interval with positive kwh"):
        to_usage([{**feed_in, "kwh": 2.0}])


class UsageSite:
    def __init__(self, engine: Engine, clock: VirtualClock) -> None:
        self.engine, self.clock = engine, clock

    async def fetch(self) -> tuple[Any, Any]:
        Collect.seen.clear()
        await run(self.engine, self.clock, "usage")
        out, problem = Collect.seen.get("out", [None]), Collect.seen.get("problem", [None])
        return out[-1], problem[-1]


@pytest.fixture
async def amber(tmp_path: Path) -> AsyncIterator[tuple[FakeAmber, UsageSite]]:
    server = FakeAmber(free_port())
    await server.start()
    clock = VirtualClock(T0)
    engine = await start([USAGE_FLOW], clock, settings(server, tmp_path), tmp_path / "engine.db")
    try:
        yield server, UsageSite(engine, clock)
    finally:
        await engine.stop()
        engine.close()
        await server.stop()


async def test_usage_is_asked_for_by_nem_date_and_read(
    amber: tuple[FakeAmber, UsageSite],
) -> None:
    server, site = amber
    reading, problem = await site.fetch()
    assert problem is None
    [request] = server.usage_requests
    assert request.site == SITE_ID
    assert request.query == {"startDate": "2025-01-26", "endDate": "2025-02-02",
                             "resolution": "30"}
    assert reading["kind"] == "usage" and reading["provider"] == "amber"
    assert len(reading["data"]["intervals"]) == 8
    # Once a day, as Amber asks: a run an hour later spends no call.
    await site.clock.advance(3600)
    await site.fetch()
    assert len(server.usage_requests) == 1


async def test_garbage_usage_never_reaches_the_ledger(amber: tuple[FakeAmber, UsageSite]) -> None:
    server, site = amber
    broken = copy.deepcopy(payload("usage_20250201"))
    broken[3]["kwh"] = "0.08"
    server.usage.body = broken
    reading, problem = await site.fetch()
    assert reading is None
    assert "amber payload[3].kwh" in problem["error"]
