"""The input node: new data when due, garbage never passes, the last good data stays."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any, ClassVar

import aiohttp

from flowengine import Engine, VirtualClock, load_flow_text
from flowengine.secrets import SecretRef, attach_secrets, reveal
from nodes.inputs.fetch import fetch
from nodes.inputs.provider import Provider
from nodes.inputs.refresh import HEALTH_KEY, input_status, provider_node
from nodes.inputs.store import InputStore
from tests.flowengine.helpers import Collect, registry
from tests.nodes.inputs.scripted_server import Reply, json_reply, scripted_server

T0 = 1_750_000_000.0  # a multiple of 5 minutes
KEY = "psk_0123456789abcdef"


class EchoPrices(Provider):
    """A minimal provider: {"issued_at", "intervals": [...]} as served."""

    kind = "prices"
    name = "echo"
    description = "Echoes a test server's prices."
    settings_key = "echo"
    default_every_s = 300
    payload_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["issued_at", "intervals"],
        "properties": {
            "issued_at": {"type": "number"},
            "intervals": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["start", "end", "import_price", "export_price"],
                    "properties": {"import_price": {"type": "number"}},
                },
            },
        },
    }

    async def fetch(self, http: aiohttp.ClientSession | None, now: float) -> Any:
        assert http is not None
        headers = {"Authorization": f"Bearer {reveal(self.section['api_key'])}"}
        reply = await fetch(
            http, self.section["base_url"], self.clock, headers=headers, policy=self.retry
        )
        return reply.json()

    def parse(self, raw: Any, now: float) -> tuple[float, dict[str, Any]]:
        return raw["issued_at"], {"intervals": raw["intervals"]}


EchoNode = provider_node(EchoPrices)

FLOW = """
connections:
  - {id: web, type: core.http}
  - {id: db, type: core.sqlite, config: {file: site.db}}
flow: prices
triggers: [{type: interval, every: 5m}]
nodes:
  - id: prices
    type: echo.prices
    config: {http: web, database: db}
    wires: {out: [got], new: [fresh], problem: [trouble]}
  - {id: got, type: test.collect}
  - {id: fresh, type: test.collect}
  - {id: trouble, type: test.collect}
"""


def good(issued_at: float, price: float = 0.25) -> Reply:
    interval = {"start": T0, "end": T0 + 1800, "import_price": price, "export_price": 0.05}
    return json_reply({"issued_at": issued_at, "intervals": [interval]})


async def start(tmp_path: Path, url: str, clock: VirtualClock) -> Engine:
    reg = registry()
    reg.add_all([EchoNode])
    secret = SecretRef("echo_key")
    settings = {
        "echo": {"base_url": url, "api_key": secret, "timeout_s": 0.2},
        "inputs": {"stale_after": {"prices": "15m"}},
    }
    attach_secrets(settings, {"echo_key": KEY})
    engine = Engine(reg, clock, tmp_path / "engine.db", settings=settings, data_dir=tmp_path)
    await engine.start(load_flow_text(FLOW, reg))
    return engine


def status(engine: Engine) -> dict[str, Any]:
    return input_status(engine.context.get("global", HEALTH_KEY)["prices"], engine.clock.time())


async def tick(clock: VirtualClock, engine: Engine) -> None:
    await clock.advance(300)
    await engine.settle()


async def test_good_data_is_kept_and_garbage_never_replaces_it(
    tmp_path: Path, free_port: int
) -> None:
    Collect.seen = {}
    clock = VirtualClock(T0 - 1)
    async with scripted_server(free_port, good(T0 - 60)) as server:
        engine = await start(tmp_path, server.url, clock)
        await tick(clock, engine)
        first = engine.context.get("global", "prices")
        assert first["data"]["intervals"][0]["import_price"] == 0.25
        assert server.requests[0].headers["Authorization"] == f"Bearer {KEY}"

        # A payload missing a field, then one that is not JSON: both refused.
        bad = {"issued_at": T0, "intervals": [{"start": T0, "end": T0 + 1800}]}
        server.answer(json_reply(bad), Reply(200, "<html>oops</html>"))
        await tick(clock, engine)
        problem = Collect.seen["trouble"][-1]
        assert "echo payload.intervals[0]" in problem["error"]
        assert "import_price" in problem["error"]
        assert problem["kept"] == T0 - 60
        assert engine.context.get("global", "prices") == first
        assert Collect.seen["got"][-1] == first  # the plan still gets sound data

        await tick(clock, engine)
        assert "not JSON" in Collect.seen["trouble"][-1]["error"]
        assert Collect.seen["fresh"] == [first]  # "new" only carried the one good reading
        assert engine.context.get("global", "prices") == first
        health = status(engine)
        assert health["failures"] == 2 and not health["stale"]
        await engine.stop()


async def test_the_input_goes_stale_when_fetches_keep_failing(
    tmp_path: Path, free_port: int
) -> None:
    clock = VirtualClock(T0 - 1)
    async with scripted_server(free_port, good(T0 - 60)) as server:
        engine = await start(tmp_path, server.url, clock)
        await tick(clock, engine)
        server.answer(Reply(500, "down"))
        for _ in range(2):  # 15 minutes old at most: not yet stale (15m allowed)
            await tick(clock, engine)
        assert not status(engine)["stale"]
        await tick(clock, engine)
        health = status(engine)
        assert health["stale"] and "HTTP 500" in health["last_error"]
        await engine.stop()


async def test_a_key_echoed_by_the_server_is_masked_everywhere(
    tmp_path: Path, free_port: int
) -> None:
    Collect.seen = {}
    clock = VirtualClock(T0 - 1)
    async with scripted_server(free_port, Reply(401, f"unknown key {KEY}")) as server:
        engine = await start(tmp_path, server.url, clock)
        await tick(clock, engine)
        problem = Collect.seen["trouble"][-1]
        assert "HTTP 401" in problem["error"] and KEY not in problem["error"]
        await engine.stop()
    everything = json.dumps(
        [engine.context.get("global", k) for k in engine.context.keys("global")]
    )
    assert KEY not in everything
    assert KEY.encode() not in (tmp_path / "engine.db").read_bytes()


async def test_a_restart_starts_from_the_stored_reading_without_a_call(
    tmp_path: Path, free_port: int
) -> None:
    clock = VirtualClock(T0 - 1)
    async with scripted_server(free_port, good(T0 - 60)) as server:
        engine = await start(tmp_path, server.url, clock)
        await tick(clock, engine)
        await engine.stop()
        again = await start(tmp_path, server.url, clock)
        await clock.advance(60)  # not due yet: 5 minutes between fetches
        await again.settle()
        assert len(server.requests) == 1
        assert again.context.get("global", "prices")["issued_at"] == T0 - 60
        await again.stop()
    db = sqlite3.connect(tmp_path / "site.db")
    stored = InputStore(db).latest("prices", "echo")
    assert stored is not None and stored.issued_at == T0 - 60
