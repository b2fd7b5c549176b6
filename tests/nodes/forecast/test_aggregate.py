"""Every input on the plan's slots: exact where it can be, honest where it cannot."""

from __future__ import annotations

from typing import Any

import pytest

from flowengine import Engine, VirtualClock, load_flow_text
from nodes.forecast import NODE_TYPES as FORECASTING
from nodes.forecast.align import align, slot_start
from nodes.inputs import NODE_TYPES as INPUTS
from nodes.replay.sample import sample_dataset
from powermaster.config import merge_defaults
from tests.flowengine.helpers import Collect, registry

T0 = 1_736_000_000.0 - 1_736_000_000.0 % 1800  # a slot boundary


def interval(start: float, minutes: int, **values: Any) -> dict[str, Any]:
    return {"start": start, "end": start + minutes * 60, **values}


def test_one_interval_covering_a_slot_gives_its_value_exactly() -> None:
    values = [interval(T0 + i * 1800, 30, p=0.1 * (i + 1)) for i in range(3)]
    assert align(values, "p", T0, 1800, 3) == [0.1, 0.2, 0.30000000000000004]


def test_five_minute_prices_are_averaged_over_the_slot_and_gaps_stay_gaps() -> None:
    values = [interval(T0 + i * 300, 5, p=float(i)) for i in range(6)]
    assert align(values, "p", T0, 1800, 2) == [2.5, None]


def test_slots_start_on_the_local_half_hour() -> None:
    # Adelaide is UTC+10:30 in January: its local :00 and :30 are :30 and :00 UTC.
    now = 1_736_000_000.0 + 100
    start = slot_start(now, 1800, "Australia/Adelaide")
    assert start <= now < start + 1800
    assert (start + 10.5 * 3600) % 1800 == 0
    assert slot_start(now, 1800, "Australia/Brisbane") % 1800 == 0


FLOW = """
flow: plan
triggers: [{type: start}]
nodes:
  - {id: prices, type: inputs.prices, wires: [pv]}
  - {id: pv, type: inputs.pv, wires: [forecast]}
  - {id: forecast, type: forecast.aggregate, wires: [got]}
  - {id: got, type: test.collect}
"""


async def _run(settings: dict[str, Any], t: float, flow: str = FLOW) -> Engine:
    Collect.seen = {}
    reg = registry()
    reg.add_all([*INPUTS, *FORECASTING])
    engine = Engine(reg, VirtualClock(t), settings=settings)
    await engine.start(load_flow_text(flow, reg))
    await engine.settle()
    return engine


async def test_the_replayed_sample_reaches_the_planner_exactly_as_recorded() -> None:
    t = T0 + 600
    engine = await _run(merge_defaults({}), t)
    got = Collect.seen["got"][0]
    truth = sample_dataset().forecast(t, 96)
    for key in ("start", "slot_seconds", "import_price", "export_price", "pv_w", "load_w"):
        assert got[key] == truth[key], key
    assert got["sources"]["prices"]["provider"] == "sample"
    await engine.stop()


async def test_the_horizon_ends_where_the_prices_end() -> None:
    settings = merge_defaults({})
    engine = await _run(settings, T0)
    await engine.stop()
    prices = [interval(T0 + i * 1800, 30, import_price=0.3, export_price=0.05) for i in range(5)]
    pv = [interval(T0 + i * 1800, 30, p50_w=1000.0, p10_w=400.0) for i in range(96)]
    engine = await _with_readings(settings, prices, pv)
    got = Collect.seen["got"][0]
    # 0.6 of the way to P10, by default
    assert len(got["import_price"]) == 5 and got["pv_w"] == pytest.approx([640.0] * 5)
    assert got["load_w"] is None  # nobody forecast it: forecast.load predicts it
    await engine.stop()


async def test_pv_leans_towards_p10_while_a_storm_reserve_is_armed() -> None:
    prices = [interval(T0 + i * 1800, 30, import_price=0.3, export_price=0.05) for i in range(4)]
    pv = [interval(T0 + i * 1800, 30, p50_w=1000.0, p10_w=400.0) for i in range(4)]
    calm = "{p10_blend: 0.0}"
    engine = await _with_readings(merge_defaults({}), prices, pv, config=calm)
    got = Collect.seen["got"][0]
    assert got["pv_blend"] == 0.0 and got["pv_w"][0] == 1000.0
    await engine.stop()
    storm = {"soc": 0.8, "armed": True}
    engine = await _with_readings(merge_defaults({}), prices, pv, storm=storm, config=calm)
    got = Collect.seen["got"][0]
    assert got["pv_blend"] == pytest.approx(0.3)
    assert got["pv_w"][0] == pytest.approx(1000 - 0.3 * 600)
    await engine.stop()


async def test_by_default_the_plan_leans_most_of_the_way_to_p10() -> None:
    prices = [interval(T0 + i * 1800, 30, import_price=0.3, export_price=0.05) for i in range(4)]
    pv = [interval(T0 + i * 1800, 30, p50_w=1000.0, p10_w=400.0) for i in range(4)]
    engine = await _with_readings(merge_defaults({}), prices, pv)
    got = Collect.seen["got"][0]
    assert got["pv_blend"] == 0.6 and got["pv_w"] == pytest.approx([640.0] * 4)
    await engine.stop()


async def test_without_a_pv_reading_the_run_fails_and_the_plan_in_force_stays() -> None:
    prices = [interval(T0, 30, import_price=0.3, export_price=0.05)]
    engine = await _with_readings(merge_defaults({}), prices, None)
    assert "got" not in Collect.seen
    engine.traces.flush()
    (run,) = engine.traces.recent("plan")
    assert run["outcome"] == "error" and "no PV reading yet" in run["error"]
    await engine.stop()


async def _with_readings(
    settings: dict[str, Any],
    prices: list[dict[str, Any]],
    pv: list[dict[str, Any]] | None,
    storm: dict[str, Any] | None = None,
    config: str = "{}",
) -> Engine:
    Collect.seen = {}
    reg = registry()
    reg.add_all([*INPUTS, *FORECASTING])
    engine = Engine(reg, VirtualClock(T0 + 60), settings=settings)
    reading = {"kind": "prices", "provider": "test", "issued_at": T0, "fetched_at": T0}
    engine.context.set("global", "prices", {**reading, "data": {"intervals": prices}})
    if pv is not None:
        engine.context.set("global", "pv", {**reading, "kind": "pv", "data": {"periods": pv}})
    if storm is not None:
        engine.context.set("global", "storm_reserve", storm)
    flow = """
flow: plan
triggers: [{type: start}]
nodes:
  - {id: forecast, type: forecast.aggregate, config: CONFIG, wires: [got]}
  - {id: got, type: test.collect}
""".replace("CONFIG", config)
    await engine.start(load_flow_text(flow, reg))
    await engine.settle()
    return engine


async def test_prices_short_of_the_horizon_are_filled_from_the_tariff_and_marked() -> None:
    tariff = {
        "import": [{"name": "flat", "from": "00:00", "to": "24:00", "price": 0.30}],
        "export": 0.04,
    }
    settings = merge_defaults({"tariff": tariff})
    prices = [interval(T0 + i * 1800, 30, import_price=0.9, export_price=0.1) for i in range(5)]
    pv = [interval(T0 + i * 1800, 30, p50_w=500.0, p10_w=500.0) for i in range(96)]
    engine = await _with_readings(settings, prices, pv)
    got = Collect.seen["got"][0]
    assert len(got["import_price"]) == 96
    assert got["import_price"][:5] == [0.9] * 5 and got["import_price"][5:] == [0.30] * 91
    assert got["export_price"][5] == 0.04
    assert got["estimated"] == list(range(5, 96))
    await engine.stop()
