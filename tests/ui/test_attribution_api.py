"""GET /api/attribution on the whole service, over real HTTP, on virtual time.

The site database already holds a day (tests/nodes/planning/recorded_site.py): the
Brisbane home with no sun where Solcast promised 4 kW, an evening half hour at 40 c,
and a ledger that paid $0.60 for it, less a meter settlement of $0.02. The service
starts ten minutes after that day ended; the attribution flow works it out at start
(it looks back for finished days not worked out yet), and the API says where its
money went, the ledger's bill read as it is now.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from flowengine.database import open_database
from nodes.history.days import day_bounds
from nodes.ledger.store import post
from nodes.planning.attribution import PARTS
from powermaster.service import Service
from tests.nodes.planning.recorded_site import DAY, ZONE, SiteDay, by_time, record_day
from tests.support.service import running_service
from tests.support.web import owner_of

START, END = day_bounds(DAY, ZONE)


@pytest.fixture
async def site(tmp_path: Path, free_port: int) -> AsyncIterator[Service]:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    db = open_database(data_dir / "site.db", schema="")
    try:
        record_day(
            db,
            SiteDay(
                import_price=by_time(
                    ("07:00", "17:00", 0.20), ("17:00", "17:30", 0.40), otherwise=0.10
                ),
                export_price=[0.0] * 48,
                pv_w=[0.0] * 48,
                load_w=by_time(("17:00", "17:30", 4000.0)),
                pv_believed=by_time(("10:00", "14:00", 4000.0)),
                bill=0.60,
            ),
        )
        settled = {"key": f"{END}/import_settlement", "at": float(START + 34 * 1800)}
        post(
            db,
            [{**settled, "kind": "import_settlement", "kwh": 0.0, "price": None, "amount": 0.02}],
        )
    finally:
        db.close()
    async with running_service(data_dir, free_port, END + 10 * 60) as service:
        yield service


@pytest.fixture
async def http(site: Service) -> AsyncIterator[aiohttp.ClientSession]:
    session = await owner_of(site)
    async with session:
        yield session


async def get(http: aiohttp.ClientSession, site: Service, path: str) -> tuple[int, Any]:
    url = f"http://{site.options.host}:{site.options.port}{path}"
    async with http.get(url) as response:
        return response.status, await response.json()


async def test_the_day_just_over_is_worked_out_and_its_gap_split(
    site: Service, http: aiohttp.ClientSession
) -> None:
    status, body = await get(http, site, "/api/attribution")
    assert status == 200, body
    assert body["timezone"] == "Australia/Brisbane" and body["parts"] == list(PARTS)
    assert body["until"] == "2026-01-15T00:10:00+10:00"
    days = {day["date"]: day for day in body["days"]}
    day = days["2026-01-14"]
    assert (day["start"], day["end"]) == ("2026-01-14T00:00:00+10:00", "2026-01-15T00:00:00+10:00")
    assert day["computed_at"].startswith("2026-01-15T00:10")  # the flow's start run
    assert day["problem"] is None
    # The ledger's bill as it is now: the settlement is in it.
    assert day["actual"]["bill"] == pytest.approx(0.58)
    assert day["actual"]["gap_hours"] == 0.0
    # The ledger's own record begins at its first reading, when the service started: the
    # entries written here before it say nothing of that, and the day is "before" it.
    assert day["actual"]["before_ledger_hours"] == 24.0
    parts = day["parts"]
    assert sum(parts.values()) == pytest.approx(day["gap"], abs=1e-3)
    assert day["gap"] == pytest.approx(
        day["actual"]["adjusted"] - day["optimum"]["adjusted"], abs=1e-3
    )
    # Only the PV forecast was wrong: the load and the prices cost nothing.
    assert parts["pv"] > 0.05 and parts["load"] == 0.0 and parts["prices"] == 0.0
    assert day["optimum"]["adjusted"] < day["replays"]["believed"]["adjusted"]
    assert days["2026-01-13"]["problem"] == "the history holds 1 of the day's 48 half hours"
    totals = body["totals"]
    assert totals["days"] == 1 and totals["gap"] == pytest.approx(day["gap"])
    assert totals["parts"] == pytest.approx(parts)


async def test_a_span_of_days_and_a_bad_query(site: Service, http: aiohttp.ClientSession) -> None:
    status, body = await get(http, site, "/api/attribution?since=2026-01-14&until=2026-01-14T12:00")
    assert status == 200
    assert [day["date"] for day in body["days"]] == ["2026-01-14"]
    status, body = await get(http, site, "/api/attribution?since=2026-01-15&until=2026-01-14&x=1")
    assert status == 400
    fields = {problem["field"] for problem in body["problems"]}
    assert fields == {"until", "x"}
