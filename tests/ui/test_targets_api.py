"""One-off SOC targets and overrides set ahead over HTTP: set, listed, cancelled, refused
with located messages, and behind the sign-in and CSRF checks like every write.

First against the UI's fake service (the real rules on a real engine's context), then
against the whole service on virtual time: a target set re-plans at once and the plan
carries it; an override set ahead is held in the plan and started at its from.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from flowengine import VirtualClock
from powermaster.service import Service
from tests.support.service import running_service
from tests.support.web import client, owner_of, sign_in
from tests.ui.conftest import Served

#: The fake service's engine runs in UTC: 2026-01-05 12:00.
EIGHTY_BY_16 = {"soc": 0.8, "by": "16:00"}


async def call(
    http: aiohttp.ClientSession, method: str, url: str, body: Any = None, **kwargs: Any
) -> tuple[int, Any]:
    async with http.request(method, url, json=body, **kwargs) as response:
        return response.status, await response.json()


async def test_a_target_is_set_listed_and_cancelled(
    ui: Served, http: aiohttp.ClientSession
) -> None:
    assert await call(http, "GET", f"{ui.url}/api/targets") == (
        200,
        {"timezone": "UTC", "targets": []},
    )
    status, stored = await call(
        http, "POST", f"{ui.url}/api/targets", {**EIGHTY_BY_16, "hard": True}
    )
    assert status == 201
    assert stored == {
        "id": stored["id"],
        "soc": 0.8,
        "by": "2026-01-05T16:00:00+00:00",
        "date": "2026-01-05",
        "hard": True,
        "name": "one-off",
        "at": datetime(2026, 1, 5, 16, tzinfo=UTC).timestamp(),
        "source": "ui",  # a signed-in browser: the web page
        "set_at": "2026-01-05T12:00:00+00:00",
    }
    assert ui.engine.context.get("global", "soc_targets")[0]["id"] == stored["id"]
    status, listed = await call(http, "GET", f"{ui.url}/api/targets")
    assert (status, listed["targets"]) == (200, [stored])
    status, gone = await call(http, "DELETE", f"{ui.url}/api/targets/{stored['id']}")
    assert (status, gone) == (200, {"cancelled": stored})
    assert ui.engine.context.get("global", "soc_targets") == []
    status, again = await call(http, "DELETE", f"{ui.url}/api/targets/{stored['id']}")
    assert status == 404 and again == {"error": "no SOC target with that id"}


async def test_a_target_once_past_is_no_longer_listed(
    ui: Served, http: aiohttp.ClientSession
) -> None:
    await call(http, "POST", f"{ui.url}/api/targets", {"soc": 0.5, "by": "12:30"})
    assert len((await call(http, "GET", f"{ui.url}/api/targets"))[1]["targets"]) == 1
    await ui.clock.advance(1800)
    assert (await call(http, "GET", f"{ui.url}/api/targets"))[1]["targets"] == []


@pytest.mark.parametrize(
    ("body", "located"),
    [
        (
            {"soc": 0.8, "by": "11:00"},
            {"by": "Mon 05 Jan 2026 11:00 UTC is past: give a time still to come (day: tomorrow)"},
        ),
        ({"soc": 0.8, "by": "2026-01-04T16:00"}, {"by": "is past"}),
        ({"soc": 1.2, "by": "16:00"}, {"soc": "a fraction from 0 to 1"}),
        ({"soc": 0.8, "by": "16:00", "day": "monday"}, {"day": "today, tomorrow or a date"}),
        ({"soc": 0.8, "by": "16:00", "colour": "red"}, {"colour": "is not a field"}),
        ({"by": "4pm"}, {"soc": "is required", "by": "is not a time"}),
        ([0.8, "16:00"], {"": "a JSON object"}),
    ],
)
async def test_a_bad_target_is_refused_naming_each_field(
    ui: Served, http: aiohttp.ClientSession, body: Any, located: dict[str, str]
) -> None:
    status, answer = await call(http, "POST", f"{ui.url}/api/targets", body)
    assert status == 422 and answer["error"] == "SOC target refused"
    found = {p["field"]: p["message"] for p in answer["problems"]}
    assert found.keys() == located.keys()
    for field, words in located.items():
        assert words in found[field], found
    assert ui.engine.context.get("global", "soc_targets") is None


async def test_a_body_that_is_not_json_is_refused(ui: Served, http: aiohttp.ClientSession) -> None:
    async with http.post(f"{ui.url}/api/targets", data=b"soc=0.8") as response:
        assert response.status == 422
        assert "JSON object" in (await response.json())["problems"][0]["message"]


async def test_targets_are_behind_the_sign_in_and_csrf(ui: Served) -> None:
    async with client() as stranger:
        assert (await call(stranger, "GET", f"{ui.url}/api/targets"))[0] == 401
        assert (await call(stranger, "POST", f"{ui.url}/api/targets", EIGHTY_BY_16))[0] == 401
        assert (await call(stranger, "DELETE", f"{ui.url}/api/targets/x"))[0] == 401
    async with client() as browser:
        await sign_in(browser, ui.url, "correct horse battery")
        del browser.headers["X-CSRF-Token"]  # a forged form on another page has none
        assert (await call(browser, "POST", f"{ui.url}/api/targets", EIGHTY_BY_16))[0] == 403
    assert ui.engine.context.get("global", "soc_targets") is None
    _, token = ui.auth.tokens.create("script")
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as script:
        status, stored = await call(script, "POST", f"{ui.url}/api/targets", EIGHTY_BY_16)
        assert status == 201 and stored["source"] == "api"  # a token: a script, no CSRF


async def test_an_override_set_ahead_is_kept_listed_and_cancelled(
    ui: Served, http: aiohttp.ClientSession
) -> None:
    body = {
        "mode": "force_charge",
        "power_w": 3000,
        "from": "2026-01-06T17:00",
        "until": "2026-01-06T19:00",
    }
    status, stored = await call(http, "POST", f"{ui.url}/api/override", body)
    assert status == 200
    brisbane = ZoneInfo("Australia/Brisbane")  # the fake service's override rules' zone
    assert (stored["from"], stored["until"]) == (
        datetime(2026, 1, 6, 17, tzinfo=brisbane).timestamp(),
        datetime(2026, 1, 6, 19, tzinfo=brisbane).timestamp(),
    )
    assert (await call(http, "GET", f"{ui.url}/api/override"))[1] == {"override": None}
    assert await call(http, "GET", f"{ui.url}/api/override/planned") == (200, {"planned": [stored]})
    status, answer = await call(
        http, "POST", f"{ui.url}/api/override", {**body, "from": "2026-01-06T18:00"}
    )
    assert status == 422
    assert answer["problems"][0]["field"] == "from"
    assert (
        "overlaps the override planned for Tue 06 Jan 17:00-19:00"
        in answer["problems"][0]["message"]
    )
    status, answer = await call(http, "POST", f"{ui.url}/api/override", {**body, "from": "soon"})
    assert status == 422 and answer["problems"][0]["field"] == "from"
    status, gone = await call(http, "DELETE", f"{ui.url}/api/override/planned/{stored['id']}")
    assert (status, gone) == (200, {"cancelled": stored})
    assert (await call(http, "DELETE", f"{ui.url}/api/override/planned/{stored['id']}"))[0] == 404
    assert (await call(http, "GET", f"{ui.url}/api/override/planned"))[1] == {"planned": []}


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


def plan_runs(site: Service) -> list[dict[str, Any]]:
    return list(reversed(site.engine.traces.recent("plan", 50)))


async def test_a_target_set_re_plans_at_once_and_the_plan_carries_it(
    site: Service, site_http: aiohttp.ClientSession
) -> None:
    before = len(plan_runs(site))
    body = {"soc": 0.9, "by": "15:00", "hard": True, "name": "guests"}
    status, stored = await call(site_http, "POST", url(site, "/api/targets"), body)
    assert status == 201 and stored["by"] == "2026-01-15T15:00:00+10:00"
    await site.engine.settle()
    runs = plan_runs(site)[before:]
    assert [(r["trigger"], r["outcome"]) for r in runs] == [("context global.soc_targets", "ok")]
    view = (await call(site_http, "GET", url(site, "/api/plan")))[1]
    [target] = view["targets"]
    assert (target["name"], target["by"], target["hard"]) == (
        "guests",
        "2026-01-15T15:00:00+10:00",
        True,
    )
    assert target["met"] is True and target["reached"] >= 0.9 - 1e-6
    await call(site_http, "DELETE", url(site, f"/api/targets/{stored['id']}"))
    await site.engine.settle()
    assert (await call(site_http, "GET", url(site, "/api/plan")))[1]["targets"] == []


async def test_an_override_set_ahead_is_held_in_the_plan_and_started_at_its_from(
    site: Service, site_http: aiohttp.ClientSession
) -> None:
    clock = site.clock
    assert isinstance(clock, VirtualClock)
    body = {"mode": "hold", "power_w": 0, "from": "2026-01-15T08:00", "until": "2026-01-15T09:00"}
    status, stored = await call(site_http, "POST", url(site, "/api/override"), body)
    assert status == 200 and stored["source"] == "ui"
    await site.engine.settle()
    view = (await call(site_http, "GET", url(site, "/api/plan")))[1]
    held = [s for s in view["slots"] if s["held_by"]]
    assert [s["start"] for s in held] == ["2026-01-15T08:00:00+10:00", "2026-01-15T08:30:00+10:00"]
    assert {s["mode"] for s in held} <= {"hold", "self_use"}  # a battery held: no power moves
    assert all(s["battery_w"] == 0 for s in held)
    assert site.override() is None  # not before its window
    await clock.run_until(stored["from"])
    await site.engine.settle()
    assert site.override() == {**stored}
    decision = site.engine.context.get("global", "decision")
    assert decision["level"] == "override" and decision["mode"] == "hold"
    assert (await call(site_http, "GET", url(site, "/api/override/planned")))[1] == {"planned": []}
