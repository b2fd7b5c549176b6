"""A prices flow polling a fake Amber every minute: a spike re-plans within one 5-minute tick."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flowengine import VirtualClock
from tests.nodes.amber.fake_amber import FakeAmber, Reply, payload
from tests.nodes.amber.harness import RecordTrigger, settings, start

PRICES_FLOW = """
flow: prices
triggers:
  - type: interval
    every: 1m
connections:
  - {id: web, type: core.http}
nodes:
  - id: amber
    type: amber.prices
    wires: [spike]
  - id: spike
    type: prices.spike
    config: {plan_flow: plan}
"""
PLAN_FLOW = """
flow: plan
nodes:
  - {id: ran, type: amber_test.record_trigger}
"""


def at(clock_time: str) -> float:
    return datetime.fromisoformat(f"2025-04-09T{clock_time}").replace(tzinfo=UTC).timestamp()


def spiking() -> list[dict[str, Any]]:
    """The captured response, but the interval now (17:00-17:30 UTC) spikes."""
    raw = payload("current_30min")
    for item in raw:
        if item["type"] == "CurrentInterval":
            item.update(spikeStatus="spike", descriptor="spike")
            item["perKwh"] = {"general": 250.0, "feedIn": -231.5}.get(item["channelType"], 250.0)
    return raw


async def test_a_spike_starts_the_plan_flow_within_one_tick(amber: FakeAmber) -> None:
    clock = VirtualClock(at("17:02:30"))
    engine = await start([PRICES_FLOW, PLAN_FLOW], clock, settings(amber))
    await clock.run_until(at("17:03:30"))
    assert len(amber.requests) == 1
    assert RecordTrigger.seen == [] and list(engine.events.notifications) == []

    normal, amber.reply = amber.reply, Reply(body=spiking())
    await clock.run_until(at("17:08:30"))  # one 5-minute control tick later
    assert len(amber.requests) == 6  # every minute
    (trigger,) = RecordTrigger.seen  # the same spiking interval starts one re-plan only
    assert trigger == (
        "price spike: $2.50/kWh 17:00-17:30 (amber: flagged spike, described as a spike, "
        "at or above the $1.00/kWh threshold) (from prices)"
    )
    (warning,) = engine.events.notifications
    assert warning["level"] == "warn" and warning["text"].startswith("Price spike: $2.50/kWh")
    assert warning["at"] == at("17:04:00")  # the first fetch after the switch
    assert warning["data"]["export_price"] == 2.315

    amber.reply = normal
    await clock.run_until(at("17:09:30"))
    assert [n["level"] for n in engine.events.notifications] == ["warn", "info"]
    assert len(RecordTrigger.seen) == 1
    await engine.stop()
    engine.close()
