"""A real engine on virtual time, a fake service around it, and the UI served by uvicorn.

The app is served in-process on a free port (same event loop as the engine), so
tests talk HTTP to it exactly as a browser would, streaming included.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from starlette.applications import Starlette

from flowengine import Engine, VirtualClock
from flowengine.validate import load_docs
from flowengine.yamlsource import parse_text
from nodes.control.override_rules import active_override, clear_override
from nodes.control.planned import PLANNED_KEY, cancel_planned, planned, set_or_plan_override
from powermaster.config import DEFAULTS
from tests.flowengine.helpers import Collect, registry
from tests.support.web import client, sign_in
from ui.app import create_app
from ui.auth import Auth
from ui.server import WebServer

START = datetime(2026, 1, 5, 12, 0, tzinfo=UTC).timestamp()
#: The owner's password in these tests.
PASSWORD = "correct horse battery"

FLOWS = """
flow: demo
description: Numbers through a split.
triggers: [{type: interval, every: 300}]
nodes:
  - {id: num, type: core.set, config: {payload: 42}, wires: [split]}
  - id: split
    type: test.split
    wires: {low: [small], high: [big]}
  - {id: small, type: test.collect}
  - {id: big, type: test.collect}
---
flow: slow
mode: single
nodes:
  - {id: nap, type: test.sleep, config: {seconds: 60}}
---
flow: secrets
nodes:
  - id: creds
    type: core.set
    config: {payload: {password: hunter2, api_token: abc123, site: home}}
    wires: [sink]
  - {id: sink, type: test.collect}
---
flow: risky
nodes:
  - id: bad
    type: test.fail
    wires: {error: [handler]}
  - {id: handler, type: test.collect}
"""


@dataclass
class FakeService:
    """The smallest ``ui.service.Service``: an engine, canned health and state, and the
    real manual override on the engine's context (with the default site's limits)."""

    engine: Engine
    status: str = "ok"
    plant: dict[str, Any] = field(
        default_factory=lambda: {
            "soc": 0.62,
            "mode": "self_use",
            "powers": {"pv": 2100, "load": 800},
            "prices": {"import": 0.21},
        }
    )

    def health(self) -> dict[str, Any]:
        return {"status": self.status, "flows": len(self.engine.flows)}

    def state(self) -> dict[str, Any]:
        return self.plant

    def override(self) -> dict[str, Any] | None:
        return active_override(self.engine.context, self.engine.clock.time())

    def set_override(
        self,
        mode: Any,
        power_w: Any,
        duration: Any,
        reason: Any = None,
        source: str = "api",
        start: Any = None,
        until: Any = None,
    ) -> dict[str, Any]:
        return set_or_plan_override(
            self.engine.context,
            self.engine.clock.time(),
            DEFAULTS,
            mode,
            power_w,
            duration=duration,
            until=until,
            start=start,
            source=source,
            reason=reason,
        )

    def clear_override(self) -> dict[str, Any] | None:
        return clear_override(self.engine.context)

    def planned_overrides(self) -> list[dict[str, Any]]:
        return planned(self.engine.context.get("global", PLANNED_KEY), self.engine.clock.time())

    def cancel_planned_override(self, override_id: str) -> dict[str, Any] | None:
        return cancel_planned(self.engine.context, override_id, self.engine.clock.time())

    # The rest of ``ui.service.Service``: the pages and API these tests use never call them.

    async def preview_override(
        self,
        mode: Any,
        power_w: Any,
        duration: Any,
        reason: Any = None,
        start: Any = None,
        until: Any = None,
    ) -> dict[str, Any]:
        raise NotImplementedError("no plan to preview against in the UI tests")

    def billing(self) -> dict[str, Any]:
        raise NotImplementedError("no ledger in the UI tests")

    def ledger(self, params: Mapping[str, str]) -> dict[str, Any]:
        raise NotImplementedError("no ledger in the UI tests")

    def attribution(self, params: Mapping[str, str]) -> dict[str, Any]:
        raise NotImplementedError("no days worked out in the UI tests")

    def history(self, params: Mapping[str, str]) -> dict[str, Any]:
        raise NotImplementedError("no history in the UI tests")

    def pv_accuracy(self, params: Mapping[str, str]) -> dict[str, Any]:
        raise NotImplementedError("no history in the UI tests")

    def span_bill(
        self, since: float, until: float, rows: Sequence[tuple[float, float]] = ()
    ) -> dict[str, Any]:
        raise NotImplementedError("no ledger in the UI tests")

    async def overview_chart(self, params: Mapping[str, str]) -> dict[str, Any]:
        raise NotImplementedError("no history or plan in the UI tests")

    def settings_view(self) -> dict[str, Any]:
        raise NotImplementedError("no site config in the UI tests")

    async def apply_settings(self, patch: Any) -> dict[str, Any]:
        raise NotImplementedError("no site config in the UI tests")


@dataclass
class Served:
    url: str
    service: FakeService
    auth: Auth

    @property
    def engine(self) -> Engine:
        return self.service.engine

    @property
    def clock(self) -> VirtualClock:
        clock = self.engine.clock
        assert isinstance(clock, VirtualClock)
        return clock


@asynccontextmanager
async def serve(app: Starlette, port: int) -> AsyncIterator[str]:
    """Run ``app`` under uvicorn on ``port`` in this event loop; yields its base URL."""
    async with WebServer(app, "127.0.0.1", port) as web:
        yield web.url


async def wait_for(condition: Any, timeout: float = 5.0) -> None:
    """Wait until ``condition()`` is true (a condition, not a fixed sleep)."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0)  # a loop turn: the server's tasks run, then look again


async def start_engine(text: str) -> Engine:
    """Start an engine on virtual time with every ``---``-separated flow in ``text``."""
    docs = [parse_text(part, f"flow{i}.yaml") for i, part in enumerate(text.split("\n---\n"))]
    Collect.seen = {}
    engine = Engine(registry(), VirtualClock(START))
    await engine.start(load_docs(docs, registry()))
    return engine


@asynccontextmanager
async def running_ui(
    port: int, ping: float = 15.0, auth: Auth | None = None, flows: str = FLOWS
) -> AsyncIterator[Served]:
    engine = await start_engine(flows)
    service = FakeService(engine)
    auth = auth or Auth.with_password(PASSWORD)
    try:
        async with serve(create_app(service, auth, ping=ping), port) as url:
            yield Served(url, service, auth)
    finally:
        await engine.stop()
        engine.close()


@pytest.fixture
async def ui(free_port: int) -> AsyncIterator[Served]:
    async with running_ui(free_port) as served:
        yield served


@pytest.fixture
async def http(ui: Served) -> AsyncIterator[aiohttp.ClientSession]:
    """A client signed in to ``ui`` as its owner: cookie and CSRF token on every call."""
    async with client() as session:
        await sign_in(session, ui.url, PASSWORD)
        yield session
