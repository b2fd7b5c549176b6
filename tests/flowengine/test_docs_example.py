"""The node type in docs/writing-flows.md works as written: a reader can start from it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from flowengine import Engine, VirtualClock, load_flow_text
from tests.flowengine.helpers import Collect, registry

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "writing-flows.md"

FLOW = """
flow: check
nodes:
  - id: limit
    type: mine.threshold
    config: {field: soc, limit: 0.8}
    wires: {high: [high], low: [low]}
  - {id: high, type: test.collect}
  - {id: low, type: test.collect}
"""


def example_node_type() -> Any:
    code = re.search(r"```python\n(.*?)```", GUIDE.read_text(), re.S)
    assert code, "the guide has no Python example"
    namespace: dict[str, Any] = {}
    exec(compile(code.group(1), str(GUIDE), "exec"), namespace)
    return namespace["Threshold"]


async def test_the_guides_node_type_runs_in_a_flow() -> None:
    reg = registry()
    reg.add_node(example_node_type())
    engine = Engine(reg, VirtualClock(0.0))
    Collect.seen = {}
    await engine.start(load_flow_text(FLOW, reg))
    try:
        for soc in (0.9, 0.5, 0.8):
            engine.trigger("check", {"soc": soc})
            await engine.wait_idle()
        assert [m["soc"] for m in Collect.seen["high"]] == [0.9, 0.8]
        assert [m["soc"] for m in Collect.seen["low"]] == [0.5]
        failed = engine.trigger("check", {"temp": 30})
        await engine.wait_idle()
        assert failed is not None
        assert engine.flows["check"].nodes["limit"].last_error is not None
        assert "no number at 'soc'" in str(engine.flows["check"].nodes["limit"].last_error)
    finally:
        await engine.stop()
        engine.close()
