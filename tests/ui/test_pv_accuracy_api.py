"""``GET /api/forecast/accuracy`` on the whole service, on virtual time: a week of
Solcast forecasts recorded against the panels' output (through the history code, in
the service's own site.db) scored day by day, as issued and calibrated; a bad query
refused naming its parameter."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from powermaster.service import Service
from tests.nodes.forecast.recorded import DAY, HALF_HOUR, TODAY, half_hour, open_site
from tests.support.service import running_service
from tests.support.web import owner_of

START = TODAY + 8 * 3600  # 08:00 in Brisbane on 10 March 2025
TEN = 10 * 3600


@pytest.fixture
async def site(tmp_path: Path, free_port: int) -> AsyncIterator[Service]:
    """The demo service, its site.db holding eight days before today on which Solcast said
    2000 W from 10:00 to 11:00 and the panels gave 1600 W."""
    data = tmp_path / "data"
    data.mkdir()
    with sqlite3.connect(data / "site.db", isolation_level=None) as db:
        open_site(db)
        for day in range(1, 9):
            for at in (TEN, TEN + HALF_HOUR):
                half_hour(db, TODAY - day * DAY + at, 2000.0, 1600.0)
    async with running_service(data, free_port, START) as service:
        yield service


@pytest.fixture
async def http(site: Service) -> AsyncIterator[aiohttp.ClientSession]:
    session = await owner_of(site)
    async with session:
        yield session


async def get(http: aiohttp.ClientSession, site: Service, path: str) -> tuple[int, Any]:
    async with http.get(f"http://{site.options.host}:{site.options.port}{path}") as response:
        return response.status, await response.json()


async def test_each_day_is_scored_as_issued_and_calibrated_in_the_sites_time(
    site: Service, http: aiohttp.ClientSession
) -> None:
    status, body = await get(http, site, "/api/forecast/accuracy?days=2")
    assert status == 200, body
    assert body["timezone"] == "Australia/Brisbane"
    assert body["since"] == "2025-03-09T00:00:00+10:00"  # times in the site's zone
    assert body["until"] == "2025-03-10T08:00:00+10:00"
    assert body["enabled"] is False  # the shipped site.yaml: off
    solcast = next(p for p in body["providers"] if p["provider"] == "solcast")
    yesterday, today = solcast["days"]
    assert (yesterday["date"], yesterday["start"]) == ("2025-03-09", "2025-03-09T00:00:00+10:00")
    assert yesterday["raw"]["bias_w"] == 400.0 and yesterday["raw"]["bias_pct"] == 25.0
    # From the seven days before it: 1 + 7/14 x (1600/2000 - 1) = 0.9, so 1800 W against 1600.
    assert yesterday["calibrated"]["bias_w"] == 200.0
    assert yesterday["calibrated"]["mae_w"] == 200.0
    assert today["complete"] is False
    assert solcast["factors"][10]["from"] == "10:00" and solcast["factors"][10]["days"] == 8


@pytest.mark.parametrize(
    ("query", "field"), [("days=0", "days"), ("days=x", "days"), ("until=1", "until")]
)
async def test_a_bad_query_is_refused_naming_its_parameter(
    site: Service, http: aiohttp.ClientSession, query: str, field: str
) -> None:
    status, body = await get(http, site, f"/api/forecast/accuracy?{query}")
    assert status == 400
    assert [p["field"] for p in body["problems"]] == [field]
