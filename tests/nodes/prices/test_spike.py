"""prices.spike on real Amber spikes and plain readings: report once, re-plan, say when over."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flowengine import Engine, VirtualClock, run_to_end
from nodes.amber.prices import AmberPrices
from tests.flowengine.helpers import Collect
from tests.nodes.amber.fake_amber import payload
from tests.nodes.amber.harness import RecordTrigger, start

WATCH_FLOW = """
flow: watch
nodes:
  - id: spike
    type: prices.spike
    config: {plan_flow: plan}
    wires: [seen]
  - {id: seen, type: test.collect}
"""
PLAN_FLOW = """
flow: plan
nodes:
  - {id: ran, type: amber_test.record_trigger}
"""
SITE = {"site": {"timezone": "Australia/Adelaide"}}  # UTC+10:30 in February


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def amber_day() -> dict[str, Any]:
    """2025-02-01 as an amber.prices reading: spikes in the 07:30 and 08:00 UTC slots."""
    provider = AmberPrices({}, VirtualClock())
    issued_at, data = provider.parse(payload("day_20250201"), at("2025-02-01T07:00"))
    return {
        "kind": "prices",
        "provider": "amber",
        "issued_at": issued_at,
        "fetched_at": issued_at,
        "data": data,
    }


def reading(*slots: dict[str, Any], provider: str = "tariff") -> dict[str, Any]:
    intervals = [
        {
            "start": at("2026-01-05T00:00") + 1800 * i,
            "end": at("2026-01-05T00:30") + 1800 * i,
            "import_price": 0.30,
            "export_price": 0.05,
            "type": "forecast",
            "estimate": True,
            "spike": "none",
            "descriptor": None,
            "renewables": None,
            **changes,
        }
        for i, changes in enumerate(slots)
    ]
    return {
        "kind": "prices",
        "provider": provider,
        "issued_at": 0.0,
        "fetched_at": 0.0,
        "data": {"intervals": intervals},
    }


async def watch(engine: Engine, clock: VirtualClock, when: str, prices: Any) -> dict[str, Any]:
    """What the watch flow's spike node says at ``when`` about ``prices``."""
    await clock.run_until(at(when))
    Collect.seen = {}
    trace = await run_to_end(engine, "watch", prices)
    assert trace.outcome == "ok", trace.error
    await engine.wait_idle()  # the plan run it may have started
    (out,) = Collect.seen["seen"]
    return dict(out)


def notes(engine: Engine) -> list[tuple[str, str]]:
    return [(n["level"], n["text"]) for n in engine.events.notifications]


async def test_each_spiking_slot_is_reported_once_and_its_end_too() -> None:
    clock = VirtualClock(at("2025-02-01T07:00"))
    engine = await start([WATCH_FLOW, PLAN_FLOW], clock, SITE)
    day = amber_day()

    calm = await watch(engine, clock, "2025-02-01T07:10", day)
    assert (calm["spike"], calm["new"], calm["status"]) == (False, False, "none")
    assert calm["price"] == 0.4549721 and calm["interval_start"] == at("2025-02-01T07:00")
    assert notes(engine) == [] and RecordTrigger.seen == []

    first = await watch(engine, clock, "2025-02-01T07:35", day)
    reason = (
        "price spike: $5.89/kWh 18:00-18:30 (amber: flagged spike, described as a spike, "
        "at or above the $1.00/kWh threshold)"
    )
    assert first == {
        "spike": True,
        "status": "spike",
        "price": 5.8939477,
        "interval_start": at("2025-02-01T07:30"),
        "reason": reason,
        "new": True,
        "ended": False,
    }
    assert RecordTrigger.seen == [f"{reason} (from watch)"]
    (warning,) = engine.events.notifications
    assert (warning["level"], warning["text"]) == ("warn", "P" + reason[1:])
    assert warning["data"]["interval_start"] == at("2025-02-01T07:30")
    assert warning["data"]["export_price"] == 5.1257323  # feed-in -512.57323 c: we earn it
    assert warning["data"]["plan_run"] is not None

    same = await watch(engine, clock, "2025-02-01T07:50", day)
    assert (same["spike"], same["new"]) == (True, False)
    assert len(RecordTrigger.seen) == 1 and len(notes(engine)) == 1

    second = await watch(engine, clock, "2025-02-01T08:05", day)
    assert (second["spike"], second["new"], second["price"]) == (True, True, 19.6472278)
    assert len(RecordTrigger.seen) == 2 and RecordTrigger.seen[1].startswith(
        "price spike: $19.65/kWh 18:30-19:00"
    )

    over = await watch(engine, clock, "2025-02-01T08:35", day)
    assert (over["spike"], over["ended"], over["reason"]) == (False, True, "")
    assert notes(engine)[-1] == ("info", "Price spike over: $0.62/kWh from 19:00")

    after = await watch(engine, clock, "2025-02-01T08:40", day)
    assert (after["spike"], after["ended"]) == (False, False)
    assert len(notes(engine)) == 3 and len(RecordTrigger.seen) == 2
    await engine.stop()
    engine.close()


async def test_a_restart_does_not_report_the_same_slot_again(tmp_path: Path) -> None:
    database = tmp_path / "engine.db"
    clock = VirtualClock(at("2025-02-01T07:30"))
    engine = await start([WATCH_FLOW, PLAN_FLOW], clock, SITE, database)
    assert (await watch(engine, clock, "2025-02-01T07:35", amber_day()))["new"] is True
    await engine.stop()
    engine.close()

    engine = await start([WATCH_FLOW, PLAN_FLOW], clock, SITE, database)
    again = await watch(engine, clock, "2025-02-01T07:45", amber_day())
    assert (again["spike"], again["new"]) == (True, False)
    assert notes(engine) == [] and RecordTrigger.seen == []
    assert (await watch(engine, clock, "2025-02-01T08:05", amber_day()))["new"] is True
    assert len(RecordTrigger.seen) == 1
    await engine.stop()
    engine.close()


CONFIGS_FLOW = """
flow: watch
nodes:
  - {id: fan, type: core.passthrough, wires: [plain, strict, eager]}
  - {id: plain, type: prices.spike, config: {plan_flow: ""}, wires: [seen_plain]}
  - {id: strict, type: prices.spike, config: {threshold: 1.5, plan_flow: ""}, wires: [seen_strict]}
  - {id: eager, type: prices.spike, config: {potential: true, plan_flow: ""}, wires: [seen_eager]}
  - {id: seen_plain, type: test.collect}
  - {id: seen_strict, type: test.collect}
  - {id: seen_eager, type: test.collect}
"""


async def spikes(prices: Any, when: str = "2026-01-05T00:10") -> dict[str, Any]:
    clock = VirtualClock(at(when))
    engine = await start([CONFIGS_FLOW, PLAN_FLOW], clock, {})
    Collect.seen = {}
    trace = await run_to_end(engine, "watch", prices)
    await engine.stop()
    engine.close()
    assert trace.outcome == "ok", trace.error
    assert RecordTrigger.seen == []  # plan_flow "" starts nothing
    return {name: Collect.seen[f"seen_{name}"][0] for name in ("plain", "strict", "eager")}


async def test_any_provider_s_price_above_the_threshold_is_a_spike() -> None:
    got = await spikes(reading({"import_price": 1.20}))
    assert got["plain"]["spike"] is True and got["plain"]["new"] is True
    assert got["plain"]["reason"].endswith("(tariff: at or above the $1.00/kWh threshold)")
    assert got["strict"]["spike"] is False  # threshold 1.50
    assert got["eager"]["spike"] is True


async def test_a_potential_spike_counts_only_when_asked() -> None:
    got = await spikes(reading({"spike": "potential"}))
    assert (got["plain"]["spike"], got["plain"]["status"]) == (False, "potential")
    assert got["strict"]["spike"] is False
    assert got["eager"]["spike"] is True and "flagged potential" in got["eager"]["reason"]


async def test_a_descriptor_of_spike_is_a_spike() -> None:
    got = await spikes(reading({"descriptor": "spike"}))
    assert all(out["spike"] for out in got.values())


async def test_no_reading_or_no_price_for_now_is_unknown_not_a_spike() -> None:
    for prices, when in [(None, "2026-01-05T00:10"), (reading({}), "2026-01-05T03:00")]:
        got = await spikes(prices, when)
        assert got["plain"] == {
            "spike": False,
            "status": "unknown",
            "price": None,
            "interval_start": None,
            "reason": "no price covers now",
            "new": False,
            "ended": False,
        }


async def test_a_payload_that_is_not_a_reading_fails_the_run() -> None:
    clock = VirtualClock(at("2026-01-05T00:10"))
    engine = await start([WATCH_FLOW, PLAN_FLOW], clock, {})
    trace = await run_to_end(engine, "watch", [1, 2, 3])
    assert trace.outcome == "error"
    assert "prices.spike takes a prices reading, not list" in str(trace.error)
    await engine.stop()
    engine.close()


async def test_a_missing_plan_flow_still_warns() -> None:
    clock = VirtualClock(at("2026-01-05T00:10"))
    engine = await start([WATCH_FLOW], clock, {})
    out = await watch(engine, clock, "2026-01-05T00:10", reading({"spike": "spike"}))
    assert out["new"] is True
    assert [level for level, _ in notes(engine)] == ["warn"]
    assert engine.flows["watch"].nodes["spike"].status["state"] == "warn"
    await engine.stop()
    engine.close()


BUSY_PLAN_FLOW = """
flow: plan
nodes:
  - {id: ran, type: amber_test.record_trigger, wires: [think]}
  - {id: think, type: test.sleep, config: {seconds: 600}}
"""


async def test_a_re_plan_dropped_by_a_busy_plan_flow_is_asked_again() -> None:
    clock = VirtualClock(at("2025-02-01T07:30"))
    engine = await start([WATCH_FLOW, BUSY_PLAN_FLOW], clock, SITE)
    assert engine.trigger("plan", source="interval 30m") is not None  # busy until 07:40
    day = amber_day()

    async def look(when: str) -> dict[str, Any]:
        await clock.run_until(at(when))
        Collect.seen = {}
        trace = await run_to_end(engine, "watch", day)
        assert trace.outcome == "ok", trace.error
        await clock.settle()
        return dict(Collect.seen["seen"][0])

    assert (await look("2025-02-01T07:35"))["new"] is True
    (warning,) = engine.events.notifications
    assert warning["data"]["plan_run"] is None  # dropped: the plan flow was busy
    assert (await look("2025-02-01T07:38"))["new"] is False
    assert RecordTrigger.seen == ["interval 30m"]
    await look("2025-02-01T07:41")
    assert RecordTrigger.seen[1].startswith("price spike: $5.89/kWh 18:00-18:30")
    await look("2025-02-01T07:45")
    assert len(RecordTrigger.seen) == 2 and len(engine.events.notifications) == 1
    await engine.stop()
    engine.close()
