"""A local provider server and an engine running one PV input node, both on virtual time."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from flowengine import Engine, VirtualClock, load_flow_text, run_to_end
from flowengine.secrets import SecretRef, attach_secrets
from nodes import forecast_solar, solcast
from nodes.inputs import NODE_TYPES as INPUT_TYPES
from tests.flowengine.helpers import Collect
from tests.support.registry import registry

FIXTURES = Path(__file__).parents[2] / "fixtures"
#: A made-up key: the tests check it never leaks into problems, logs or storage.
API_KEY = "sk-test-7f3a9c1e5b2d4068"

Answer = Callable[[web.Request], Awaitable[web.StreamResponse]]


def fixture(provider: str, name: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((FIXTURES / provider / name).read_text(encoding="utf-8"))
    return payload


def secret(name: str, value: str) -> SecretRef:
    """A ``!secret`` reference bound to ``value``, as the site config loader makes it."""
    ref = SecretRef(name)
    attach_secrets({"key": ref}, {name: value})
    return ref


def json_answer(payload: Any, status: int = 200, **headers: str) -> Answer:
    async def answer(request: web.Request) -> web.StreamResponse:
        return web.json_response(payload, status=status, headers=headers)

    return answer


def text_answer(text: str, status: int = 200, **headers: str) -> Answer:
    async def answer(request: web.Request) -> web.StreamResponse:
        return web.Response(text=text, status=status, headers=headers)

    return answer


@dataclass(frozen=True)
class Seen:
    """One request as the server saw it, at the engine's (virtual) time."""

    at: float
    path: str
    query: dict[str, str]
    headers: dict[str, str]


class FakeApi:
    """A server on 127.0.0.1 that answers as each test tells it (``answer``)."""

    def __init__(self) -> None:
        self.url = ""
        self.clock: VirtualClock | None = None
        self.requests: list[Seen] = []
        self.answer: Answer = text_answer("no answer set", 500)
        #: Requests to ``hang`` wait on this; it is set at teardown.
        self.release = asyncio.Event()

    async def hang(self, request: web.Request) -> web.StreamResponse:
        await self.release.wait()
        return web.Response(status=503)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        at = self.clock.time() if self.clock is not None else 0.0
        self.requests.append(Seen(at, request.path, dict(request.query), dict(request.headers)))
        return await self.answer(request)


def flow(node_type: str) -> str:
    return f"""
flow: pv
connections:
  - {{id: web, type: core.http}}
  - {{id: site_db, type: core.sqlite, config: {{file: site.db}}}}
nodes:
  - id: pv
    type: {node_type}
    config: {{database: site_db}}
    wires: {{out: [seen], problem: [problems]}}
  - {{id: seen, type: test.collect}}
  - {{id: problems, type: test.collect}}
"""


class Site:
    """An engine running ``flow(node_type)`` over ``settings``, driven one run at a time."""

    def __init__(self, clock: VirtualClock, data_dir: Path, settings: dict[str, Any]) -> None:
        self.clock = clock
        self.data_dir = data_dir
        self.settings = dict(settings)
        self.engine: Engine | None = None

    async def start(self, node_type: str) -> Engine:
        Collect.seen = {}
        reg = registry(*INPUT_TYPES, *solcast.NODE_TYPES, *forecast_solar.NODE_TYPES)
        database = self.data_dir / "engine.db"
        engine = Engine(reg, self.clock, database, settings=self.settings, data_dir=self.data_dir)
        self.engine = engine  # stopped by ``stop`` even when it fails to start
        await engine.start(load_flow_text(flow(node_type), reg))
        return engine

    async def stop(self) -> None:
        if self.engine is not None:
            await self.engine.stop()
            self.engine.close()
            self.engine = None

    async def run(self) -> tuple[Any, Any]:
        """One run, its waits and retries in virtual time: (out payload, problem or None)."""
        assert self.engine is not None
        problems_before = len(Collect.seen.get("problems", []))
        trace = await run_to_end(self.engine, "pv", "tick")
        assert trace.outcome == "ok", trace
        problems = Collect.seen.get("problems", [])
        problem = problems[-1] if len(problems) > problems_before else None
        return Collect.seen["seen"][-1], problem

    def globals(self, key: str) -> Any:
        assert self.engine is not None
        return self.engine.context.get("global", key)
