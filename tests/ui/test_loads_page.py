"""The loads page and GET /api/loads/view, on the whole demo service on virtual time.

With a Shelly Gen2+ pool pump configured (answering over real HTTP), the view shows
its window, what the plan placed in it, its state from the loads flow, and a manual
command once one is given; the demo site without loads shows how to add one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from starlette.applications import Starlette
from starlette.templating import Jinja2Templates

from flowengine import VirtualClock
from flows import SITE_CONFIG
from nodes.loads import set_load_command
from powermaster.service import Options, Service
from tests.nodes.loads.fake_shelly import FakeShellyGen2
from tests.support.mosquitto import free_port as another_free_port
from tests.ui.conftest import serve
from ui.pages import loads as loads_page
from ui.pages.loads import loads_view

ZONE = ZoneInfo("Australia/Brisbane")
START = datetime(2026, 1, 15, 5, 0, tzinfo=ZONE).timestamp()  # before the pump's window
TEMPLATES = Path(loads_page.__file__).parent.parent / "templates"
POOL = """
loads:
  pool:
    name: Pool pump
    adapter: shelly_gen2
    host: 127.0.0.1
    port: {port}
    password: !secret pool_password
    power_w: 1200
    run_time: 2h
    window: {{from: "07:00", to: "17:00"}}
"""


@pytest.fixture
async def shelly() -> AsyncIterator[FakeShellyGen2]:
    device = FakeShellyGen2(another_free_port(), password="relay-pass")
    await device.start()
    yield device
    await device.stop()


async def running(config: Path, data: Path, port: int) -> tuple[Service, Any]:
    site = Service(
        Options(config=config, data_dir=data, simulator_port=another_free_port(), ui=False),
        clock=VirtualClock(START),
    )
    await site.start()
    await site.engine.settle()
    app = Starlette(routes=loads_page.routes(site, Jinja2Templates(directory=TEMPLATES)))
    return site, serve(app, port)


async def get(url: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        if response.content_type == "application/json":
            return response.status, await response.json()
        return response.status, await response.text()


async def test_a_configured_load_shows_its_window_plan_state_and_manual_command(
    tmp_path: Path, shelly: FakeShellyGen2, free_port: int
) -> None:
    (tmp_path / "secrets.yaml").write_text("pool_password: relay-pass\n")
    config = tmp_path / "site.yaml"
    config.write_text(SITE_CONFIG.read_text() + POOL.format(port=shelly.port))
    site, served = await running(config, tmp_path / "data", free_port)
    try:
        async with served as url:
            status, view = await get(f"{url}/api/loads/view")
            assert status == 200 and view["problem"] is None
            (pool,) = view["loads"]
            assert (pool["id"], pool["name"], pool["window"]) == (
                "pool",
                "Pool pump",
                "07:00-17:00",
            )
            assert pool["day"]["start"] == "2026-01-15T07:00:00+10:00"
            assert pool["day"]["end"] == "2026-01-15T17:00:00+10:00"
            assert pool["device"].startswith("Shelly Gen2+ at 127.0.0.1")
            assert "relay-pass" not in str(view)
            assert (
                pool["state"] == "scheduled" and pool["on"] is False and pool["available"] is True
            )
            assert pool["run_time_s"] == 7200 and pool["run_today_s"] == 0
            assert pool["planned"], "the plan placed the pump's two hours"
            planned = sum(run["until"] - run["at"] for run in pool["planned"])
            assert planned == 7200
            assert all(
                pool["day"]["at"] <= run["at"] < run["until"] <= pool["day"]["until"]
                for run in pool["planned"]
            )
            assert pool["command"] is None

            engine = site.engine
            set_load_command(
                engine.context, engine.clock, "pool", "on", START + 3600, "api", engine.settings
            )
            await engine.settle()  # the loads flow runs on a manual command
            status, view = await get(f"{url}/api/loads/view")
            (pool,) = view["loads"]
            assert pool["command"] == {
                "command": "on",
                "until": "2026-01-15T06:00:00+10:00",
                "source": "api",
                "set_at": "2026-01-15T05:00:00+10:00",
            }
            assert (pool["state"], pool["on"]) == ("manual", True) and shelly.relays[0].on

            status, html = await get(f"{url}/loads")
            assert status == 200 and 'id="loads"' in html and 'src="/static/loads.js"' in html
            assert "<script>" not in html and "style=" not in html
    finally:
        await site.stop()


async def test_the_demo_site_without_loads_says_how_to_add_one(
    tmp_path: Path, free_port: int
) -> None:
    site, served = await running(SITE_CONFIG, tmp_path / "data", free_port)
    try:
        async with served as url:
            status, view = await get(f"{url}/api/loads/view")
    finally:
        await site.stop()
    assert status == 200 and view["loads"] == [] and view["problem"] is None
    assert "Controllable loads" in view["how_to_add"]


def test_an_invalid_loads_section_is_named_not_raised() -> None:
    settings = {"site": {"timezone": "UTC"}, "loads": {"pool": {"adapter": "shelly_gen2"}}}
    view = loads_view(settings, None, None, None, 0.0)
    assert view["loads"] == [] and "host" in view["problem"] and "power_w" in view["problem"]


def test_planned_slots_are_joined_into_runs_and_past_ones_dropped() -> None:
    starts = [f"2026-01-15T0{h}:{m}:00+00:00" for h in range(4) for m in ("00", "30")]
    plan = {"slots": [{"start": s} for s in starts], "deferrable": {"pool": [1, 2, 3, 6]}}
    settings = {
        "site": {"timezone": "UTC"},
        "loads": {
            "pool": {
                "adapter": "mqtt",
                "command_topic": "p/set",
                "state_topic": "p/state",
                "power_w": 500,
                "run_time": "2h",
            }
        },
    }
    first = datetime.fromisoformat(starts[0]).timestamp()
    (pool,) = loads_view(settings, None, None, plan, first)["loads"]
    assert [(r["start"][11:16], r["end"][11:16]) for r in pool["planned"]] == [
        ("00:30", "02:00"),
        ("03:00", "03:30"),
    ]
    (later,) = loads_view(settings, None, None, plan, first + 2 * 3600)["loads"]
    assert [r["start"][11:16] for r in later["planned"]] == ["03:00"]
    assert later["state"] == "unknown" and later["reason"] == "the loads flow has not run yet"
