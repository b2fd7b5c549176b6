"""GET/POST /api/loads: the same manual-command path Home Assistant's switches use."""

from __future__ import annotations

from typing import Any

import aiohttp

from tests.ui.conftest import Served

POOL = {"adapter": "shelly_gen1", "host": "127.0.0.1", "power_w": 1100, "run_time": "4h"}


async def call(
    http: aiohttp.ClientSession, method: str, url: str, body: Any = None
) -> tuple[int, Any]:
    async with http.request(method, url, json=body) as response:
        return response.status, await response.json()


async def test_a_manual_load_command_is_stored_and_refused_when_wrong(
    ui: Served, http: aiohttp.ClientSession
) -> None:
    ui.engine.settings = {"loads": {"pool": POOL}, "site": {"timezone": "Australia/Brisbane"}}
    assert await call(http, "GET", f"{ui.url}/api/loads") == (200, {"loads": {}, "commands": {}})
    url = f"{ui.url}/api/loads"
    status, body = await call(http, "POST", url, {"name": "pool", "command": "on"})
    assert status == 200 and body["command"]["command"] == "on"
    commands = ui.engine.context.get("global", "load_commands")
    assert commands["pool"]["command"] == "on" and commands["pool"]["source"] == "api"
    status, body = await call(http, "POST", f"{ui.url}/api/loads", {"name": "pol", "command": "on"})
    assert status == 422 and any(p["field"] == "name" for p in body["problems"])
    status, body = await call(
        http, "POST", f"{ui.url}/api/loads", {"name": "pool", "command": "blast"}
    )
    assert status == 422 and any(p["field"] == "command" for p in body["problems"])
    status, body = await call(http, "POST", f"{ui.url}/api/loads", {"name": "pool", "x": 1})
    assert status == 422 and "unknown fields: x" in body["problems"][0]["message"]
    status, _ = await call(http, "POST", f"{ui.url}/api/loads", {"name": "pool", "command": "auto"})
    assert status == 200 and "pool" not in (ui.engine.context.get("global", "load_commands") or {})
