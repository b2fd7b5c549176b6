"""What engine tests share: the test node types and registry (from ``tests.support``),
and builders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from flowengine import Engine, InvalidFlows, Registry, VirtualClock, load_flow_text
from tests.support.nodes import TEST_TYPES, Append, Collect, Fail, Sleep, Split, Twice
from tests.support.registry import registry

__all__ = [
    "TEST_TYPES",
    "Append",
    "Collect",
    "Fail",
    "Sleep",
    "Split",
    "Twice",
    "refusal",
    "registry",
    "start_engine",
]


def refusal(text: str, reg: Registry | None = None, file: str = "f.yaml") -> str:
    """What loading flow ``text`` is refused with: its located problems, one a line."""
    with pytest.raises(InvalidFlows) as caught:
        load_flow_text(text, reg or registry(), file)
    return str(caught.value)


async def start_engine(
    text: str, clock: VirtualClock, database: Path | str = ":memory:", **kwargs: Any
) -> Engine:
    Collect.seen = {}
    engine = Engine(registry(), clock, database, **kwargs)
    await engine.start(load_flow_text(text, registry()))
    return engine
