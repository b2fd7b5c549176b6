"""core.change and core.template: set, move and delete places from values and expressions."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from flowengine import VirtualClock
from tests.flowengine.helpers import Collect, refusal, start_engine

BRISBANE = ZoneInfo("Australia/Brisbane")
FIVE_PM = datetime(2026, 12, 7, 17, 0, tzinfo=BRISBANE).timestamp()


async def test_rules_apply_in_order_to_the_message_and_the_context() -> None:
    engine = await start_engine(
        """
flow: shape
nodes:
  - id: change
    type: core.change
    config:
      rules:
        - {set: payload.until, expr: now + 1h30m}
        - {set: payload.label, value: "SOC {{ (global.telemetry.soc * 100) | round | int }} %"}
        - {set: payload.soc, value: "{{ global.telemetry.soc }}"}
        - {set: topic, value: home/ev/charge}
        - {set: flow.last_soc, expr: payload.soc}
        - {set: global.ev.seen, value: true}
        - {move: payload.debug, to: payload.kept}
        - {delete: payload.noise}
    wires: [seen]
  - {id: seen, type: test.collect}
""",
        VirtualClock(FIVE_PM),
        timezone="Australia/Brisbane",
    )
    engine.context.set("global", "telemetry", {"soc": 0.934})
    engine.context.set("global", "ev", {"plugged": True})
    handle = engine.start_run("shape", {"debug": [1], "noise": "x"})
    assert handle is not None
    assert (await handle.wait()).outcome == "ok"
    assert Collect.seen["seen"] == [
        {
            "until": "2026-12-07T18:30:00+10:00",
            "label": "SOC 93 %",
            "soc": 0.934,  # a lone {{ x }} keeps x's type
            "kept": [1],
        }
    ]
    assert engine.context.get("flow:shape", "last_soc") == 0.934
    assert engine.context.get("global", "ev") == {"plugged": True, "seen": True}
    await engine.stop()


async def test_a_template_renders_text_with_if_blocks() -> None:
    engine = await start_engine(
        """
flow: text
nodes:
  - id: render
    type: core.template
    config:
      template: >-
        EV {% if payload.plugged %}plugged in{% else %}away{% endif %}
        at {{ now.strftime('%H:%M') }}
      to: payload.text
    wires: [seen]
  - {id: seen, type: test.collect}
""",
        VirtualClock(FIVE_PM),
        timezone="Australia/Brisbane",
    )
    handle = engine.start_run("text", {"plugged": False})
    assert handle is not None
    await handle.wait()
    assert Collect.seen["seen"] == [{"plugged": False, "text": "EV away at 17:00"}]
    await engine.stop()


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("{set: payload.x}", "3:49: node 'c': a 'set' rule needs exactly one of 'value' or 'expr'"),
        (
            "{set: payload.x, expr: 'now +'}",
            "3:72: node 'c': expression 'now +': it ends too early",
        ),
        (
            "{set: payload.x, value: '{% for x in y %}{% endfor %}'}",
            "3:73: node 'c': template '{% for x in y %}{% endfor %}': '{% for %}' is not allowed; "
            "only {{ }} and {% if %} are (use a core.switch or core.split node to branch or loop)",
        ),
    ],
)
def test_a_bad_rule_is_refused_with_its_place(rule: str, message: str) -> None:
    text = f"flow: f\nnodes:\n  - {{id: c, type: core.change, config: {{rules: [{rule}]}}}}\n"
    assert refusal(text) == f"f.yaml:{message}"
