"""Flexible loads as site.yaml gives them, fake chargers on free ports, and the loads'
HTTP session and fake Shelly fixtures (reused, not copied)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from nodes.flexible.settings import FlexConfig, flexible_configs
from tests.nodes.flexible.fake_evcc import FakeEvcc
from tests.nodes.flexible.fake_openevse import FakeOpenEvse
from tests.nodes.loads.conftest import gen1, gen2, session, unused_port

__all__ = ["gen1", "gen2", "session"]

TARGET = {"energy_kwh": 10, "by": "07:00"}


def flex(load_id: str = "car", /, **raw: Any) -> FlexConfig:
    """One flexible load's settings as the site config would give them."""
    section = {"max_w": 7360, "target": TARGET, **raw}
    return flexible_configs({"flexible_loads": {load_id: section}})[load_id]


@pytest.fixture
async def openevse() -> AsyncIterator[FakeOpenEvse]:
    server = FakeOpenEvse(unused_port())
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def evcc() -> AsyncIterator[FakeEvcc]:
    server = FakeEvcc(unused_port())
    await server.start()
    yield server
    await server.stop()
