"""core.switch: rules to named ports, otherwise, thresholds with hysteresis, time windows."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from flowengine import VirtualClock
from tests.flowengine.helpers import Collect, refusal, start_engine

BRISBANE = ZoneInfo("Australia/Brisbane")
MONDAY_5PM = datetime(2026, 12, 7, 17, 0, tzinfo=BRISBANE).timestamp()

EV = """
flow: ev
nodes:
  - id: check
    type: core.switch
    config:
      rules:
        - port: charge
          if: payload.plugged and global.telemetry.soc > 0.9
    wires: {charge: [charged], otherwise: [why_not]}
  - {id: charged, type: test.collect}
  - {id: why_not, type: test.collect}
"""


async def run(engine, flow: str, payload) -> str:  # type: ignore[no-untyped-def]
    handle = engine.start_run(flow, payload)
    assert handle is not None
    trace = await handle.wait()
    return str(trace.outcome)


async def test_the_first_rule_that_holds_takes_the_message_else_otherwise() -> None:
    engine = await start_engine(EV, VirtualClock(MONDAY_5PM))
    engine.context.set("global", "telemetry", {"soc": 0.95})
    assert await run(engine, "ev", {"plugged": True}) == "ok"
    assert await run(engine, "ev", {"plugged": False}) == "ok"
    engine.context.set("global", "telemetry", {"soc": 0.5})
    assert await run(engine, "ev", {"plugged": True}) == "ok"
    assert Collect.seen == {
        "charged": [{"plugged": True}],
        "why_not": [{"plugged": False}, {"plugged": True}],
    }
    await engine.stop()


async def test_a_threshold_with_hysteresis_holds_until_the_value_falls_back_past_it() -> None:
    engine = await start_engine(
        """
flow: soc
nodes:
  - id: check
    type: core.switch
    config:
      property: payload.soc
      rules: [{port: high, above: 0.9, hysteresis: 0.05}]
      otherwise: low
    wires: {high: [high], low: [low]}
  - {id: high, type: test.collect}
  - {id: low, type: test.collect}
""",
        VirtualClock(MONDAY_5PM),
    )
    for soc in (0.89, 0.91, 0.87, 0.86, 0.85, 0.88, 0.9, 0.92):
        await run(engine, "soc", {"soc": soc})
    high = [p["soc"] for p in Collect.seen["high"]]
    low = [p["soc"] for p in Collect.seen["low"]]
    # 0.87 and 0.86 stay high (above 0.9 - 0.05); 0.85 leaves; 0.88 and 0.9 do not re-enter.
    assert high == [0.91, 0.87, 0.86, 0.92]
    assert low == [0.89, 0.85, 0.88, 0.9]
    await engine.stop()


async def test_ranges_lists_and_time_windows_in_the_site_zone() -> None:
    text = """
flow: when
nodes:
  - id: check
    type: core.switch
    config:
      property: payload
      checking: all
      rules:
        - {port: evening, time: {from: "17:00", to: "21:00", days: [mon, tue]}}
        - {port: overnight, time: {from: "22:00", to: "06:00"}}
        - {port: band, value: "payload if payload is number else 0", above: 10, below: 20}
        - {port: named, in: [a, b]}
        - {port: band, value: "payload * 2", eq: 50}
      otherwise: false
    wires: {evening: [evening], overnight: [overnight], band: [band], named: [named]}
  - {id: evening, type: test.collect}
  - {id: overnight, type: test.collect}
  - {id: band, type: test.collect}
  - {id: named, type: test.collect}
"""
    clock = VirtualClock(MONDAY_5PM)
    engine = await start_engine(text, clock, timezone="Australia/Brisbane")
    for payload in (15, 25, "a", "c", 5):
        await run(engine, "when", payload)
    await clock.run_until(datetime(2026, 12, 8, 2, 30, tzinfo=BRISBANE).timestamp())
    await run(engine, "when", 1)
    await clock.run_until(datetime(2026, 12, 9, 18, 0, tzinfo=BRISBANE).timestamp())  # Wednesday
    await run(engine, "when", 2)
    assert Collect.seen == {
        "evening": [15, 25, "a", "c", 5],
        "band": [15, 25],
        "named": ["a"],
        "overnight": [1],
    }
    await engine.stop()


async def test_a_value_that_is_not_a_number_does_not_hold_and_is_warned_about() -> None:
    engine = await start_engine(
        """
flow: bad
nodes:
  - id: check
    type: core.switch
    config: {property: payload.soc, rules: [{port: high, above: 0.9}]}
    wires: {high: [high], otherwise: [low], error: [errors]}
  - {id: high, type: test.collect}
  - {id: low, type: test.collect}
  - {id: errors, type: test.collect}
""",
        VirtualClock(MONDAY_5PM),
    )
    await run(engine, "bad", {"soc": "full"})
    status = engine.flows["bad"].nodes["check"].status
    assert status["state"] == "warn"
    assert status["text"] == "rule 'high' does not hold: payload.soc is 'full', not a number"
    await run(engine, "bad", {"soc": "0.95"})  # a number as text (an MQTT payload) is a number
    await run(engine, "bad", {"other": 1})
    assert Collect.seen["low"] == [{"soc": "full"}]
    assert Collect.seen["high"] == [{"soc": "0.95"}]
    assert "has no attribute 'soc'" in Collect.seen["errors"][0]["error"]
    await engine.stop()


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (
            "[{port: a}]",
            "3:53: node 'check': rule 1 tests nothing: give one of if, eq, ne, in, "
            "above, below, time",
        ),
        (
            "[{port: a, eq: 1, hysteresis: 1}]",
            "3:82: node 'check': hysteresis needs 'above' or 'below'",
        ),
        (
            "[{port: a, if: 'payload >'}]",
            "3:67: node 'check': expression 'payload >': it ends too early",
        ),
        ("[{port: a, above: '{{ x'}]", "3:70: node 'check': template '{{ x': '{{' is never closed"),
        (
            "[{port: a, time: {from: '17:00'}}]",
            "3:69: node 'check': a time window needs both 'from' and 'to'",
        ),
    ],
)
def test_a_bad_rule_is_refused_at_load_with_its_place(rules: str, message: str) -> None:
    text = f"flow: f\nnodes:\n  - {{id: check, type: core.switch, config: {{rules: {rules}}}}}\n"
    assert refusal(text) == f"f.yaml:{message}"


def test_wires_may_only_use_the_ports_the_rules_name() -> None:
    text = """flow: f
nodes:
  - id: check
    type: core.switch
    config: {rules: [{port: high, above: 1}]}
    wires: {high: [x], hihg: [x]}
  - {id: x, type: test.collect}
"""
    assert (
        "f.yaml:6:24: node 'check' (core.switch) has no output 'hihg'; its outputs are "
        "high, otherwise, error" in refusal(text)
    )


async def test_a_band_starts_afresh_when_its_rule_was_not_looked_at() -> None:
    engine = await start_engine(
        """
flow: soc
nodes:
  - id: check
    type: core.switch
    config:
      property: payload.soc
      rules:
        - {port: full, if: "payload.soc >= 1"}
        - {port: high, above: 0.9, hysteresis: 0.05}
      otherwise: low
    wires: {full: [full], high: [high], low: [low]}
  - {id: full, type: test.collect}
  - {id: high, type: test.collect}
  - {id: low, type: test.collect}
""",
        VirtualClock(MONDAY_5PM),
    )
    for soc in (0.95, 1.0, 0.87):  # at 1.0 the first rule decides: the band is not looked at
        await run(engine, "soc", {"soc": soc})
    assert [p["soc"] for p in Collect.seen["high"]] == [0.95]
    assert [p["soc"] for p in Collect.seen["low"]] == [0.87]  # 0.87 is not "still high"
    await engine.stop()


def test_an_unknown_name_or_filter_is_refused_at_load_with_its_place() -> None:
    text = "flow: f\nnodes:\n  - {id: check, type: core.switch, config: {rules: [%s]}}\n"
    for rule, message in (
        (
            "{port: a, if: 'paylod.x > 1'}",
            "f.yaml:3:67: node 'check': 'paylod.x > 1': 'paylod' is not a name expressions know",
        ),
        (
            "{port: a, if: 'payload | upperr'}",
            "f.yaml:3:67: node 'check': expression 'payload | upperr': No filter named 'upperr'",
        ),
    ):
        assert refusal(text % rule).startswith(message)
