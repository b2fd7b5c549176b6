"""The fake services on a free local port, and sites that are stopped after each test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from flowengine import VirtualClock
from tests.nodes.notify.fake_services import FakeServices
from tests.nodes.notify.harness import T0, Site


@pytest.fixture
async def services(free_port: int) -> AsyncIterator[FakeServices]:
    fake = FakeServices(free_port)
    await fake.start()
    yield fake
    await fake.stop()


MakeSite = Callable[..., Awaitable[Site]]


@pytest.fixture
async def make_site(tmp_path: Path) -> AsyncIterator[MakeSite]:
    """Start a site: ``make_site(flow, settings)``, on a virtual clock at T0, with its
    context in a database file (so a restart keeps it)."""
    sites: list[Site] = []

    async def make(flow: str, settings: dict[str, Any], start: float = T0) -> Site:
        site = Site(flow, settings, VirtualClock(start), tmp_path / f"site{len(sites)}.db")
        sites.append(site)
        return await site.start()

    yield make
    for site in sites:
        await site.stop()
