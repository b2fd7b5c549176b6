"""core.split / core.join, and core.http_request against a real local aiohttp server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from flowengine import Engine, VirtualClock, load_flow_text
from tests.flowengine.helpers import Collect, refusal, registry

START = 1_765_000_000.0


async def started(text: str) -> Engine:
    Collect.seen = {}
    engine = Engine(registry(), VirtualClock(START))
    await engine.start(load_flow_text(text, registry()))
    return engine


async def run(engine: Engine, flow: str, payload: Any) -> str:
    handle = engine.start_run(flow, payload)
    assert handle is not None
    return str((await handle.wait()).outcome)


async def test_a_split_list_goes_item_by_item_and_joins_back_in_order() -> None:
    engine = await started("""
flow: each
nodes:
  - {id: split, type: core.split, wires: [double]}
  - id: double
    type: core.change
    config: {rules: [{set: payload, expr: payload * 2}]}
    wires: [seen, join]
  - {id: join, type: core.join, wires: [all]}
  - {id: seen, type: test.collect}
  - {id: all, type: test.collect}
""")
    assert await run(engine, "each", [1, 2, 3]) == "ok"
    assert Collect.seen["seen"] == [2, 4, 6]
    assert Collect.seen["all"] == [[2, 4, 6]]
    await engine.stop()


async def test_a_mapping_splits_into_key_value_parts_and_count_joins_loose_messages() -> None:
    engine = await started("""
flow: pairs
nodes:
  - {id: split, type: core.split, wires: [join]}
  - {id: join, type: core.join, wires: [all]}
  - {id: all, type: test.collect}
""")
    assert await run(engine, "pairs", {"a": 1, "b": 2}) == "ok"
    assert Collect.seen["all"] == [[{"key": "a", "value": 1}, {"key": "b", "value": 2}]]
    await engine.stop()
    engine = await started("""
flow: batches
nodes:
  - {id: join, type: core.join, config: {count: 2}, wires: [all]}
  - {id: all, type: test.collect}
""")
    for n in (1, 2, 3):
        assert await run(engine, "batches", n) == "ok"
    assert Collect.seen["all"] == [[1, 2]]
    await engine.stop()


@asynccontextmanager
async def fake_service(port: int) -> AsyncIterator[list[dict[str, Any]]]:
    seen: list[dict[str, Any]] = []

    async def handle(request: web.Request) -> web.Response:
        body = await request.text()
        seen.append(
            {
                "method": request.method,
                "path": request.path_qs,
                "body": body,
                "auth": request.headers.get("Authorization"),
            }
        )
        if request.path == "/missing":
            return web.Response(status=404, text="no such thing")
        if request.path == "/big":
            return web.Response(text="x" * 5000)
        if request.path == "/large":
            return web.json_response({"values": list(range(40_000))})  # over 200 kB
        if request.path == "/text":
            return web.Response(text="plain words")
        return web.json_response({"ok": True, "soc": 0.5})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield seen
    finally:
        await runner.cleanup()


def http_flow(port: int, path: str, extra: str = "") -> str:
    return f"""
connections: [{{id: web, type: core.http, config: {{timeout_s: 5}}}}]
flow: call
nodes:
  - id: ask
    type: core.http_request
    config: {{http: web, url: "http://127.0.0.1:{port}{path}"{extra}}}
    wires: {{out: [answer], error: [failed]}}
  - {{id: answer, type: test.collect}}
  - {{id: failed, type: test.collect}}
"""


async def test_a_get_gives_json_as_data_and_text_as_text(free_port: int) -> None:
    async with fake_service(free_port) as seen:
        engine = await started(http_flow(free_port, "/soc?site={{ payload.site }}"))
        await run(engine, "call", {"site": "home"})
        await engine.stop()
        assert Collect.seen["answer"] == [{"ok": True, "soc": 0.5}]
        engine = await started(http_flow(free_port, "/text"))
        await run(engine, "call", None)
        await engine.stop()
    assert seen[0] == {"method": "GET", "path": "/soc?site=home", "body": "", "auth": None}
    assert Collect.seen["answer"] == ["plain words"]


async def test_a_post_sends_the_payload_with_templated_headers(free_port: int) -> None:
    extra = ', method: POST, headers: {Authorization: "Bearer {{ payload.token }}"}'
    async with fake_service(free_port) as seen:
        engine = await started(http_flow(free_port, "/set", extra))
        await run(engine, "call", {"token": "t0k", "on": True})
        await engine.stop()
    assert seen == [
        {
            "method": "POST",
            "path": "/set",
            "body": '{"token": "t0k", "on": true}',
            "auth": "Bearer t0k",
        }
    ]
    assert Collect.seen["answer"] == [{"ok": True, "soc": 0.5}]


async def test_an_error_status_or_an_oversized_answer_fails_the_run(free_port: int) -> None:
    async with fake_service(free_port):
        engine = await started(http_flow(free_port, "/missing"))
        await run(engine, "call", None)
        await engine.stop()
        failed = Collect.seen["failed"]
        engine = await started(http_flow(free_port, "/big", ", max_bytes: 1000"))
        await run(engine, "call", None)
        await engine.stop()
    assert "GET http://127.0.0.1:" in failed[0]["error"]
    assert "HTTP 404: no such thing" in failed[0]["error"]
    assert "the answer is longer than 1,000 bytes" in Collect.seen["failed"][0]["error"]


def test_a_url_that_is_not_http_is_refused_at_load() -> None:
    text = (
        "connections: [{id: web, type: core.http}]\nflow: f\nnodes:\n"
        "  - {id: a, type: core.http_request, config: {http: web, url: 'file:///etc/passwd'}}\n"
    )
    assert refusal(text) == "f.yaml:4:63: node 'a': 'file:///etc/passwd' is not an http(s) URL"


async def test_a_large_answer_is_read_whole(free_port: int) -> None:
    async with fake_service(free_port):
        engine = await started(http_flow(free_port, "/large"))
        await run(engine, "call", None)
        await engine.stop()
    assert Collect.seen["answer"][0]["values"][-1] == 39_999


async def test_split_parts_are_copies_so_the_stored_context_is_never_changed() -> None:
    engine = await started("""
flow: each
nodes:
  - {id: split, type: core.split, config: {property: global.slots}, wires: [edit]}
  - id: edit
    type: core.change
    config: {rules: [{set: payload.mode, value: force_charge}]}
""")
    engine.context.set("global", "slots", [{"mode": "hold"}, {"mode": "self_use"}])
    assert await run(engine, "each", None) == "ok"
    assert engine.context.peek("global", "slots") == [{"mode": "hold"}, {"mode": "self_use"}]
    await engine.stop()
