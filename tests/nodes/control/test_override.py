"""control.override: a flow sets the manual override with an end, or clears it."""

from __future__ import annotations

import copy
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from flowengine import Engine, Registry, VirtualClock, load_flow_text
from nodes.control.override import OverrideNode
from powermaster.config import DEFAULTS
from tests.flowengine.helpers import Collect, refusal, registry

BRISBANE = ZoneInfo("Australia/Brisbane")
FIVE_PM = datetime(2026, 12, 7, 17, 0, tzinfo=BRISBANE).timestamp()


def with_override() -> Registry:
    reg = registry()
    reg.add_node(OverrideNode)
    return reg


async def test_a_flow_forces_discharge_until_an_hour_from_now_then_clears_it() -> None:
    text = """
flow: evening
nodes:
  - id: force
    type: control.override
    config:
      mode: force_discharge
      power_w: "{{ payload.watts }}"
      until: "{{ now + 1h }}"
      reason: "price {{ payload.price }} $/kWh is above 0.30"
    wires: [seen, clear]
  - {id: seen, type: test.collect}
  - {id: clear, type: control.override, config: {action: clear}, wires: [cleared]}
  - {id: cleared, type: test.collect}
"""
    settings = copy.deepcopy(DEFAULTS)
    engine = Engine(with_override(), VirtualClock(FIVE_PM), settings=settings)
    await engine.start(load_flow_text(text, with_override()))
    Collect.seen = {}
    handle = engine.start_run("evening", {"watts": 3000, "price": 0.42})
    assert handle is not None
    assert (await handle.wait()).outcome == "ok"
    stored = Collect.seen["seen"][0]
    assert stored == {
        "mode": "force_discharge",
        "power_w": 3000.0,
        "until": FIVE_PM + 3600,
        "set_at": FIVE_PM,
        "source": "flow",
        "reason": "price 0.42 $/kWh is above 0.30",
    }
    assert Collect.seen["seen"] == [stored]
    assert Collect.seen["cleared"] == [None]
    assert engine.context.get("global", "override") is None
    await engine.stop()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            "{mode: force_charge, power_w: 3000}",
            "3:45: node 'o': an override needs an end: give 'for' or 'until'",
        ),
        (
            "{mode: force_charge, power_w: 3000, for: 1h, until: '{{ now + 1h }}'}",
            "3:90: node 'o': give 'for' or 'until', not both",
        ),
        ("{power_w: 3000, for: 1h}", "3:45: node 'o': an override needs 'mode'"),
        ("{action: clear, for: 1h}", "3:61: node 'o': a clear takes no other keys"),
        (
            "{mode: charge, power_w: 1, for: 1h}",
            "3:52: 'mode' of node 'o' must be one of self_use, self_use_zero_export, "
            "force_charge, force_discharge, hold, or {{ }} text giving one; not 'charge'",
        ),
    ],
)
def test_an_override_that_would_be_ignored_is_refused_at_load(config: str, message: str) -> None:
    text = f"flow: f\nnodes:\n  - {{id: o, type: control.override, config: {config}}}\n"
    assert refusal(text, with_override()) == f"f.yaml:{message}"
