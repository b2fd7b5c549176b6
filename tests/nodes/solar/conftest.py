"""The local provider server every PV provider test talks to (never a real internet host):
these in tests/nodes/solar, and tests/nodes/solcast's and tests/nodes/forecast_solar's."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from tests.nodes.solar.harness import FakeApi


@pytest.fixture
async def api(free_port: int) -> AsyncIterator[FakeApi]:
    fake = FakeApi()
    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", fake.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", free_port).start()
    fake.url = f"http://127.0.0.1:{free_port}"
    yield fake
    fake.release.set()
    await runner.cleanup()
