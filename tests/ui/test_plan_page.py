"""The plan page and GET /api/plan, on the whole demo service on virtual time.

No plan before the engine starts (404, saying so); the start-up plan after it, the
slot holding now marked; the interval's rebuild half an hour later says why.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from starlette.applications import Starlette
from starlette.templating import Jinja2Templates

from flowengine import VirtualClock
from powermaster.service import Options, Service
from tests.support.mosquitto import free_port as another_free_port
from tests.ui.conftest import serve
from ui.pages import plan as plan_page
from ui.pages.plan import plan_view, why

ZONE = ZoneInfo("Australia/Brisbane")
START = datetime(2026, 1, 15, 9, 10, tzinfo=ZONE).timestamp()
TEMPLATES = Path(plan_page.__file__).parent.parent / "templates"


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Service]:
    options = Options(data_dir=tmp_path / "data", simulator_port=another_free_port(), ui=False)
    service = Service(options, clock=VirtualClock(START))
    yield service
    if service.engine.started:
        await service.stop()


@pytest.fixture
async def url(site: Service, free_port: int) -> AsyncIterator[str]:
    app = Starlette(routes=plan_page.routes(site, Jinja2Templates(directory=TEMPLATES)))
    async with serve(app, free_port) as base:
        yield base


async def get(url: str, path: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.get(f"{url}{path}") as response:
        if response.content_type == "application/json":
            return response.status, await response.json()
        return response.status, await response.text()


async def test_no_plan_then_the_start_up_plan_then_the_regular_rebuild(
    site: Service, url: str
) -> None:
    status, body = await get(url, "/api/plan")
    assert status == 404 and body["error"].startswith("no plan yet") and body["runs"] == []

    await site.start()
    await site.engine.settle()
    status, shown = await get(url, "/api/plan")
    assert status == 200
    assert (shown["trigger"], shown["why"]) == ("start", "built at start-up")
    assert shown["created_at"] == "2026-01-15T09:10:00+10:00" and shown["age_s"] == 0
    assert shown["timezone"] == "Australia/Brisbane"
    slots = shown["slots"]
    assert len(slots) > 1 and shown["slot_seconds"] == 1800
    current = slots[shown["current"]]
    assert current["at"] <= START < current["at"] + 1800
    assert current["start"] == "2026-01-15T09:00:00+10:00"  # the site's wall time
    assert slots[1]["soc_start"] == slots[0]["soc_end"]
    assert shown["expected_cost"] == pytest.approx(sum(s["cost"] for s in slots), abs=0.006)
    for slot in slots:
        assert set(slot) >= {
            "mode",
            "power_w",
            "battery_w",
            "soc_end",
            "import_price",
            "export_price",
            "reason",
        }
    assert [run["why"] for run in shown["runs"]] == ["built at start-up"]
    assert shown["runs"][0]["outcome"] == "ok"

    clock = site.clock
    assert isinstance(clock, VirtualClock)
    while clock.time() < START + 31 * 60:
        await clock.advance(300)
        await site.engine.settle()
    status, later = await get(url, "/api/plan")
    assert status == 200 and later["created_at"] > shown["created_at"]
    assert later["why"] in ("the regular rebuild, every 30 min",) or later["why"].startswith(
        "re-planned: "
    )  # the replan check may have been first
    assert later["replan"] is not None and later["replan"]["text"]
    assert later["runs"][0]["started"] == later["created_at"]


async def test_the_page_has_the_ids_the_browser_tests_use(url: str) -> None:
    status, html = await get(url, "/plan")
    assert status == 200
    for marker in (
        'id="plan-table"',
        'id="plan-created"',
        'id="plan-why"',
        'id="plan-targets"',
        'src="/static/plan.js"',
    ):
        assert marker in html
    assert "<script>" not in html and "style=" not in html and " onclick" not in html


def test_why_a_plan_was_built_in_words() -> None:
    assert why("start") == "built at start-up"
    assert why("interval 1800s") == "the regular rebuild, every 30 min"
    assert why("manual") == "run by hand"
    assert why("SOC 41% strayed from the plan's 55% (from replan)") == (
        "re-planned: SOC 41% strayed from the plan's 55%"
    )
    assert why("price spike: $1.20/kWh 17:00-17:30 (amber: spike) (from prices)") == (
        "price spike: $1.20/kWh 17:00-17:30 (amber: spike) (the prices flow asked)"
    )
    assert why(None) == "not recorded"


def test_the_slot_holding_now_and_the_loads_the_plan_runs_in_each_slot() -> None:
    first = datetime(2026, 1, 15, 0, 0, tzinfo=UTC)
    slots = [
        {
            "start": datetime.fromtimestamp(first.timestamp() + i * 1800, UTC).isoformat(),
            "mode": "self_use",
            "power_w": 0.0,
            "battery_w": 0.0,
            "soc_end": 0.5,
            "cost": 0.1,
            "import_price": 0.2,
            "export_price": 0.05,
            "reason": "self-use",
        }
        for i in range(4)
    ]
    plan = {
        "slots": slots,
        "created_at": first.isoformat(),
        "deferrable": {"pool": [1, 2]},
        "built_from": {"soc": 0.4, "trigger": "start"},
    }
    view = plan_view(plan, first.timestamp() + 2700, UTC)
    assert view is not None
    assert view["current"] == 1
    assert [s["loads"] for s in view["slots"]] == [[], ["pool"], ["pool"], []]
    assert view["slots"][0]["soc_start"] == 0.4
    assert view["expected_cost"] == 0.4 and view["expected_cost_ahead"] == 0.3
    assert plan_view(None, 0.0, UTC) is None and plan_view({"slots": []}, 0.0, UTC) is None
    after = plan_view(plan, first.timestamp() + 4 * 1800, UTC)
    assert after is not None and after["current"] is None and after["expected_cost_ahead"] == 0


def test_the_soc_targets_the_plan_meets_in_the_sites_time() -> None:
    """planner.soc_targets as the plan meets them (TargetResult.to_dict), shown in the
    site's zone with the epoch beside it."""
    first = datetime(2026, 1, 15, 0, 0, tzinfo=UTC)
    slot = {
        "start": first.isoformat(),
        "mode": "force_charge",
        "power_w": 3000.0,
        "soc_end": 0.8,
        "cost": 0.9,
        "import_price": 0.2,
        "export_price": 0.05,
        "reason": "charge from grid at 20.0c: for the 80% target at 10:30",
    }
    target = {
        "by": datetime(2026, 1, 15, 0, 30, tzinfo=UTC).isoformat(),
        "slot": 0,
        "soc": 0.8,
        "requested_soc": 0.8,
        "hard": False,
        "reached": 0.8,
        "shortfall_kwh": 0.0,
        "shortfall_price": 0.5,
        "name": "",
        "met": True,
        "clamped": False,
    }
    plan = {"slots": [slot], "created_at": first.isoformat(), "targets": [target]}
    view = plan_view(plan, first.timestamp(), ZoneInfo("Australia/Brisbane"))
    assert view is not None
    (shown,) = view["targets"]
    assert shown["by"] == "2026-01-15T10:30:00+10:00"
    assert shown["by_at"] == first.timestamp() + 1800
    assert (shown["soc"], shown["met"], shown["reached"]) == (0.8, True, 0.8)
    no_targets = plan_view({**plan, "targets": []}, first.timestamp(), UTC)
    assert no_targets is not None and no_targets["targets"] == []
