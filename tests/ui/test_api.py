"""The UI's HTTP API against a real engine on virtual time, served by uvicorn."""

from __future__ import annotations

import json
import re
from typing import Any

import aiohttp

from tests.support.web import client, sign_in
from tests.ui.conftest import PASSWORD, Served, running_ui, wait_for


async def get(http: aiohttp.ClientSession, url: str) -> tuple[int, Any]:
    async with http.get(url) as response:
        return response.status, await response.json()


async def post(http: aiohttp.ClientSession, url: str, body: Any = None) -> tuple[int, Any]:
    async with http.post(url, json=body) as response:
        return response.status, await response.json()


async def test_root_redirects_and_the_page_loads_only_our_files(
    ui: Served, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{ui.url}/", allow_redirects=False) as response:
        assert response.status in (302, 307)
        assert response.headers["location"] == "/overview"
    async with http.get(f"{ui.url}/flows") as response:
        assert response.status == 200
        assert response.headers["content-security-policy"].startswith("default-src 'self'")
        page = await response.text()
    assert '<script src="/static/flows.js"' in page
    assert not re.search(r'(src|href)="(https?:)?//', page)
    for asset in ("/static/flows.js", "/static/app.css"):
        async with http.get(f"{ui.url}{asset}") as response:
            assert response.status == 200


async def test_health_is_503_only_in_safety(ui: Served, http: aiohttp.ClientSession) -> None:
    for status, code in (("ok", 200), ("degraded", 200), ("safety", 503)):
        ui.service.status = status
        assert await get(http, f"{ui.url}/api/health") == (code, {"status": status, "flows": 4})


async def test_state_passes_through(ui: Served, http: aiohttp.ClientSession) -> None:
    assert await get(http, f"{ui.url}/api/state") == (200, ui.service.plant)


async def test_flows_carry_nodes_wires_status_and_layout(
    ui: Served, http: aiohttp.ClientSession
) -> None:
    status, flows = await get(http, f"{ui.url}/api/flows")
    assert status == 200
    assert [f["id"] for f in flows] == ["demo", "slow", "secrets", "risky"]
    demo = flows[0]
    assert demo["description"] == "Numbers through a split."
    assert demo["mode"] == "single" and demo["triggers"] == ["interval 300s"]
    assert demo["layout"] == {"layers": 3, "rows": 2}
    nodes = {n["id"]: n for n in demo["nodes"]}
    assert {n: (nodes[n]["layer"], nodes[n]["y"]) for n in nodes} == {
        "num": (0, 0.5),
        "split": (1, 0.5),
        "small": (2, 0.0),
        "big": (2, 1.0),
    }
    assert nodes["split"]["gives"] == {"low": "small numbers", "high": "big numbers"}
    assert nodes["split"]["description"].startswith("Sends the payload")
    assert nodes["num"]["status"]["state"] == "idle" and nodes["num"]["count"] == 0
    assert {"from": "split", "port": "high", "to": "big"} in demo["wires"]
    status, one = await get(http, f"{ui.url}/api/flows/demo")
    assert (status, one["nodes"]) == (200, demo["nodes"])
    assert (await get(http, f"{ui.url}/api/flows/nope"))[0] == 404


async def test_secrets_are_masked_in_config_and_traces(
    ui: Served, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{ui.url}/api/flows/secrets") as response:
        text = await response.text()
    assert "hunter2" not in text and "abc123" not in text
    creds = json.loads(text)["nodes"][0]
    assert creds["config"]["payload"] == {
        "password": "••••••",
        "api_token": "••••••",
        "site": "home",
    }
    status, started = await post(http, f"{ui.url}/api/flows/secrets/trigger")
    assert status == 202
    await ui.engine.wait_idle()
    async with http.get(f"{ui.url}/api/flows/secrets/runs/{started['run_id']}") as response:
        assert response.status == 200
        text = await response.text()
    assert "hunter2" not in text and "abc123" not in text
    # A node's last messages: what it got and gave, masked the same way.
    status, messages = await get(http, f"{ui.url}/api/flows/secrets/nodes/sink/messages")
    assert status == 200 and [m["run_id"] for m in messages] == [started["run_id"]]
    assert messages[0]["got"]["site"] == "home" and messages[0]["error"] is None
    assert "hunter2" not in json.dumps(messages)
    assert (await get(http, f"{ui.url}/api/flows/secrets/nodes/nope/messages"))[0] == 404


async def test_trigger_runs_and_traces(ui: Served, http: aiohttp.ClientSession) -> None:
    first = await post(http, f"{ui.url}/api/flows/demo/trigger")
    await ui.engine.wait_idle()
    second = await post(http, f"{ui.url}/api/flows/demo/trigger", {"payload": "ignored"})
    await ui.engine.wait_idle()
    assert first[0] == second[0] == 202
    status, runs = await get(http, f"{ui.url}/api/flows/demo/runs")
    assert status == 200
    assert [r["run_id"] for r in runs] == [second[1]["run_id"], first[1]["run_id"]]
    assert runs[0]["outcome"] == "ok" and runs[0]["trigger"] == "manual"
    status, trace = await get(http, f"{ui.url}/api/flows/demo/runs/{second[1]['run_id']}")
    assert status == 200
    steps = trace["steps"]
    assert [(s["node"], s["source"]) for s in steps] == [("num", -1), ("split", 0), ("big", 1)]
    assert steps[0]["got"] == "ignored" and steps[0]["output"] == {"out": 42}
    assert steps[1]["got"] == 42 and steps[1]["output"] == {"high": 42}
    assert steps[2]["got"] == 42 and steps[2]["output"] is None
    assert all(s["status"] == "ok" and s["duration_us"] >= 0 for s in steps)
    assert ui.engine.flows["demo"].nodes["big"].count == 2
    assert (await get(http, f"{ui.url}/api/flows/demo/runs/nope"))[0] == 404
    assert (await get(http, f"{ui.url}/api/flows/nope/runs"))[0] == 404


async def test_a_failed_step_shows_its_error(ui: Served, http: aiohttp.ClientSession) -> None:
    status, started = await post(http, f"{ui.url}/api/flows/risky/trigger", {"payload": 7})
    assert status == 202
    await ui.engine.wait_idle()
    _, trace = await get(http, f"{ui.url}/api/flows/risky/runs/{started['run_id']}")
    assert trace["outcome"] == "error" and trace["error"] == "bad: RuntimeError: boom"
    bad, handler = trace["steps"]
    assert (bad["status"], bad["error"]) == ("error", "RuntimeError: boom")
    assert handler["got"]["error"] == "RuntimeError: boom" and handler["got"]["payload"] == 7


async def test_trigger_is_409_when_the_run_mode_drops_it(
    ui: Served, http: aiohttp.ClientSession
) -> None:
    assert (await post(http, f"{ui.url}/api/flows/slow/trigger"))[0] == 202
    status, body = await post(http, f"{ui.url}/api/flows/slow/trigger")
    assert status == 409 and body["mode"] == "single"
    assert (await post(http, f"{ui.url}/api/flows/nope/trigger"))[0] == 404
    async with http.post(f"{ui.url}/api/flows/demo/trigger", data=b"[1]") as response:
        assert response.status == 400


async def read_events(response: aiohttp.ClientResponse, until: Any) -> list[dict[str, Any]]:
    """Parsed ``data:`` events (and ``:`` comments as {"comment": ...}) up to ``until``."""
    seen: list[dict[str, Any]] = []
    async for raw in response.content:
        line = raw.decode().rstrip("\r\n")
        if line.startswith("data: "):
            seen.append(json.loads(line[6:]))
        elif line.startswith(":"):
            seen.append({"comment": line[1:].strip()})
        else:
            continue
        if until(seen[-1]):
            return seen
    raise AssertionError(f"stream ended before the wanted event; saw {seen}")


async def test_events_stream_last_status_then_live_events(
    ui: Served, http: aiohttp.ClientSession
) -> None:
    demo = ui.engine.flows["demo"]
    demo.nodes["num"].set_status("earlier", "warn")
    async with http.get(f"{ui.url}/api/events") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        snapshot = await read_events(response, lambda e: e.get("type") == "ready")
        assert snapshot[0] | {"at": None} == {
            "type": "status",
            "flow": "demo",
            "node": "num",
            "text": "earlier",
            "state": "warn",
            "count": 0,
            "errors": 0,
            "at": None,
        }
        assert ui.engine.events.subscriber_count == 1
        demo.nodes["split"].set_status("live now", "busy")
        (live,) = await read_events(response, lambda e: e.get("type") == "status")
        assert (live["node"], live["text"], live["state"]) == ("split", "live now", "busy")
        run_id = ui.engine.trigger("demo")
        events = await read_events(response, lambda e: e.get("type") == "run")
        assert [e["type"] for e in events] == ["run_start", "run"]
        assert events[1]["run_id"] == run_id and events[1]["outcome"] == "ok"
        assert events[1]["counts"] == {"num": 1, "split": 1, "small": 0, "big": 1}
    await wait_for(lambda: ui.engine.events.subscriber_count == 0)


async def test_events_stream_sends_keepalive_pings(free_port: int) -> None:
    async with running_ui(free_port, ping=0.05) as ui, client() as http:
        await sign_in(http, ui.url, PASSWORD)
        async with http.get(f"{ui.url}/api/events") as response:
            events = await read_events(response, lambda e: "comment" in e)
            assert events[-1]["comment"].startswith("ping")
