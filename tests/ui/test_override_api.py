"""The manual override over HTTP: set, read, refuse with located messages, clear.

First against the UI's fake service (the real override rules on a real engine),
then against the whole service on virtual time: an override makes the control
flow act at once, and /api/state names the deciding level and reason every tick.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from flowengine import VirtualClock
from nodes.control.decision import MODES
from powermaster.service import Service
from tests.support.service import running_service
from tests.support.web import owner_of
from tests.ui.conftest import Served

FORCE_CHARGE = {"mode": "force_charge", "power_w": 3000, "duration": "1h"}


async def call(
    http: aiohttp.ClientSession, method: str, url: str, body: Any = None
) -> tuple[int, Any]:
    async with http.request(method, url, json=body) as response:
        return response.status, await response.json()


async def test_an_override_is_stored_read_back_and_cleared(
    ui: Served, http: aiohttp.ClientSession
) -> None:
    assert await call(http, "GET", f"{ui.url}/api/override") == (200, {"override": None})
    now = ui.clock.time()
    body = {**FORCE_CHARGE, "reason": "  guests tonight  "}
    status, stored = await call(http, "POST", f"{ui.url}/api/override", body)
    assert status == 200
    assert stored == {
        "mode": "force_charge",
        "power_w": 3000.0,
        "until": now + 3600,
        "set_at": now,
        "source": "ui",
        "reason": "guests tonight",
    }
    assert ui.engine.context.get("global", "override") == stored
    assert await call(http, "GET", f"{ui.url}/api/override") == (200, {"override": stored})
    status, cleared = await call(http, "DELETE", f"{ui.url}/api/override")
    assert (status, cleared) == (200, {"override": None, "cleared": stored})
    assert await call(http, "GET", f"{ui.url}/api/override") == (200, {"override": None})
    assert (await call(http, "DELETE", f"{ui.url}/api/override"))[1]["cleared"] is None


async def test_an_override_expires_by_itself(ui: Served, http: aiohttp.ClientSession) -> None:
    body = {"mode": "hold", "power_w": 0, "duration": "30m"}
    status, stored = await call(http, "POST", f"{ui.url}/api/override", body)
    assert status == 200 and stored["until"] == stored["set_at"] + 1800
    await ui.clock.advance(1799)
    assert (await call(http, "GET", f"{ui.url}/api/override"))[1]["override"] == stored
    await ui.clock.advance(1)
    assert (await call(http, "GET", f"{ui.url}/api/override"))[1]["override"] is None


@pytest.mark.parametrize(
    ("body", "located"),
    [
        ({**FORCE_CHARGE, "mode": "turbo"}, {"mode": "must be one of"}),
        ({**FORCE_CHARGE, "power_w": -5}, {"power_w": "cannot be negative"}),
        (
            {**FORCE_CHARGE, "power_w": 90000},
            {"power_w": "90000 W is beyond the battery's charge limit (5000 W)"},
        ),
        (
            {**FORCE_CHARGE, "mode": "force_discharge", "power_w": 5001},
            {"power_w": "beyond the battery's discharge limit"},
        ),
        ({**FORCE_CHARGE, "power_w": "lots"}, {"power_w": "must be a number"}),
        ({**FORCE_CHARGE, "power_w": True}, {"power_w": "must be a number"}),
        ({**FORCE_CHARGE, "duration": "soon"}, {"duration": "is not a duration"}),
        ({**FORCE_CHARGE, "duration": 0}, {"duration": "must be more than 0"}),
        ({**FORCE_CHARGE, "duration": "25h"}, {"duration": "longer than the most allowed"}),
        ({**FORCE_CHARGE, "reason": 7}, {"reason": "must be text"}),
        ({**FORCE_CHARGE, "watts": 1}, {"watts": "is not a field of an override"}),
        ({"power_w": 3000}, {"mode": "is required", "duration": "is required"}),
        (
            {"mode": "force_charge", "power_w": -1, "duration": "2d"},
            {"power_w": "negative", "duration": "longer"},
        ),
        ([1, 2], {"": "body must be a JSON object"}),
    ],
)
async def test_a_bad_override_is_refused_naming_each_field(
    ui: Served, http: aiohttp.ClientSession, body: Any, located: dict[str, str]
) -> None:
    status, answer = await call(http, "POST", f"{ui.url}/api/override", body)
    assert status == 422 and answer["error"] == "override refused"
    found = {p["field"]: p["message"] for p in answer["problems"]}
    assert found.keys() == located.keys()
    for field, words in located.items():
        assert words in found[field], found
    assert ui.engine.context.get("global", "override") is None


async def test_a_body_that_is_not_json_is_refused(ui: Served, http: aiohttp.ClientSession) -> None:
    async with http.post(f"{ui.url}/api/override", data=b"mode=force_charge") as response:
        assert response.status == 422
        assert (await response.json())["problems"][0]["message"].startswith("body must be")


# -- the whole service, on virtual time ---------------------------------------------

# 2026-01-15 06:00 Brisbane.
START = datetime(2026, 1, 14, 20, 0, tzinfo=UTC).timestamp()


@pytest.fixture
async def site(tmp_path: Path, free_port: int) -> AsyncIterator[Service]:
    async with running_service(tmp_path / "data", free_port, START) as service:
        yield service


@pytest.fixture
async def site_http(site: Service) -> AsyncIterator[aiohttp.ClientSession]:
    session = await owner_of(site)
    async with session:
        yield session


def url(site: Service, path: str) -> str:
    return f"http://{site.options.host}:{site.options.port}{path}"


def control_runs(site: Service) -> list[dict[str, Any]]:
    return list(reversed(site.engine.traces.recent("control", 50)))


async def test_state_names_the_deciding_level_and_reason_on_every_tick(
    site: Service, site_http: aiohttp.ClientSession
) -> None:
    http = site_http
    clock = site.clock
    assert isinstance(clock, VirtualClock)
    for _ in range(4):
        await clock.advance(300)
        await site.engine.settle()
        status, state = await call(http, "GET", url(site, "/api/state"))
        assert status == 200
        decision = site.engine.context.get("global", "decision")
        assert state["level"] == decision["level"] and state["level"]
        assert state["reason"] == decision["reason"] and state["reason"]
        assert state["mode"] in MODES
        assert state["battery_target_w"] == decision.get("battery_w")  # not the AC port's power
        assert clock.time() - 300 < state["decided_at"] <= clock.time()
        assert state["override"] is None
        assert state["storm_reserve"] is None or state["storm_reserve"]["holding"] is False


async def test_an_override_makes_control_act_at_once_and_again_when_it_ends(
    site: Service, site_http: aiohttp.ClientSession
) -> None:
    http = site_http
    clock = site.clock
    assert isinstance(clock, VirtualClock)
    before = len(control_runs(site))
    status, stored = await call(
        http,
        "POST",
        url(site, "/api/override"),
        {"mode": "force_charge", "power_w": 2000, "duration": "17m"},
    )
    assert status == 200
    await site.engine.settle()
    runs = control_runs(site)[before:]
    assert runs[0]["trigger"] == "context global.override"
    assert runs[0]["started"] == stored["set_at"]  # no virtual time passed: at once
    # The plan is built again holding the override's slots, and the tick takes it in.
    assert [r["trigger"] for r in runs[1:]] == ["context global.plan"]
    plan = site.engine.context.get("global", "plan")
    assert plan["slots"][0]["held_by"] == "override"
    assert plan["slots"][0]["mode"] == "force_charge"
    state = (await call(http, "GET", url(site, "/api/state")))[1]
    assert state["override"] == stored and state["decided_at"] == stored["set_at"]
    assert state["level"] == "override" and "manual override from the web page" in state["reason"]
    await clock.run_until(stored["until"])
    await site.engine.settle()
    ended = [r for r in control_runs(site) if r["trigger"] == "at global.override.until"]
    assert [r["started"] for r in ended] == [stored["until"]]
    state = (await call(http, "GET", url(site, "/api/state")))[1]
    assert state["override"] is None and state["decided_at"] == stored["until"]
    assert state["level"] != "override"


async def test_clearing_an_override_makes_control_act_at_once(
    site: Service, site_http: aiohttp.ClientSession
) -> None:
    http = site_http
    await call(http, "POST", url(site, "/api/override"), FORCE_CHARGE)
    await site.engine.settle()
    before = len(control_runs(site))
    status, answer = await call(http, "DELETE", url(site, "/api/override"))
    assert status == 200 and answer["cleared"]["mode"] == "force_charge"
    await site.engine.settle()
    runs = control_runs(site)[before:]
    assert [r["trigger"] for r in runs] == ["context global.override", "context global.plan"]
    assert site.engine.context.get("global", "override") is None
    assert "held_by" not in site.engine.context.get("global", "plan")["slots"][0]
    clock = site.clock
    assert isinstance(clock, VirtualClock)
    await clock.advance(3600)  # the cleared override's end no longer ticks
    assert not [r for r in control_runs(site) if r["trigger"] == "at global.override.until"]
