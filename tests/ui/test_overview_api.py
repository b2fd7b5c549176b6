"""The overview and graphs pages' API on the whole service, on virtual time.

The demo site (Brisbane, UTC+10) runs from noon for a few virtual hours; the chart
must give back what the site database recorded and the plan in force, the history
must add up to what the inverter's counters and the ledger say, and a control tick
must reach an open event stream as a ``state`` event.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from flowengine import VirtualClock
from nodes.ledger.store import events_between
from powermaster.service import Service
from tests.support.service import running_service
from tests.support.web import client, sign_in
from ui.auth import write_password

START = datetime(2026, 1, 15, 2, 0, tzinfo=UTC).timestamp()  # noon in Brisbane
BRISBANE = ZoneInfo("Australia/Brisbane")
PASSWORD = "correct horse battery"
COUNTERS = ("pv", "load", "grid_import", "grid_export", "battery_charge", "battery_discharge")


@pytest.fixture
async def site(tmp_path: Path, free_port: int) -> AsyncIterator[Service]:
    write_password(tmp_path / "data", PASSWORD)  # the owner has set one: pages open at once
    async with running_service(tmp_path / "data", free_port, START) as service:
        yield service


@pytest.fixture
async def http(site: Service) -> AsyncIterator[aiohttp.ClientSession]:
    async with client() as session:
        await sign_in(session, url(site, ""), PASSWORD)
        yield session


def url(site: Service, path: str) -> str:
    return f"http://{site.options.host}:{site.options.port}{path}"


async def get(http: aiohttp.ClientSession, site: Service, path: str) -> tuple[int, Any]:
    async with http.get(url(site, path)) as response:
        return response.status, await response.json()


async def run_for(site: Service, seconds: float) -> None:
    clock = site.clock
    assert isinstance(clock, VirtualClock)
    until = clock.time() + seconds
    while clock.time() < until:
        await clock.advance(300)
        await site.engine.settle()


def site_db(site: Service) -> sqlite3.Connection:
    return sqlite3.connect(Path(site.options.data_dir) / "site.db")


def local(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, BRISBANE).isoformat()


async def test_the_pages_load_only_their_own_scripts(
    site: Service, http: aiohttp.ClientSession
) -> None:
    for path, script, ids in (
        (
            "/overview",
            "overview.js",
            (
                "soc",
                "pv-w",
                "load-w",
                "battery-w",
                "grid-w",
                "import-price",
                "export-price",
                "mode",
                "level",
                "reason",
                "health-status",
                "storm",
                "chart-power",
            ),
        ),
        ("/graphs", "graphs.js", ("graph-kind", "graph-range", "graph-chart")),
    ):
        async with http.get(url(site, path)) as response:
            assert response.status == 200
            page = await response.text()
        assert f'<script src="/static/{script}" defer></script>' in page
        assert '<script src="/static/chart.js" defer></script>' in page
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)  # no inline script
        assert not re.search(r"\sstyle=|\son[a-z]+=", page)  # no inline style or handler
        assert not re.search(r'(src|href)="(https?:)?//', page)
        for name in ids:
            assert page.count(f'id="{name}"') == 1, name
        for asset in (script, "chart.js"):
            async with http.get(url(site, f"/static/{asset}")) as response:
                assert response.status == 200


async def test_the_chart_gives_what_happened_and_the_plan_ahead(
    site: Service, http: aiohttp.ClientSession
) -> None:
    await run_for(site, 4 * 3600)
    now = site.clock.time()
    status, chart = await get(http, site, "/api/overview/chart?hours=24&ahead=12")
    assert status == 200
    assert chart["timezone"] == "Australia/Brisbane"
    assert (chart["since"], chart["now"], chart["until"]) == (
        local(now - 24 * 3600),
        local(now),
        local(now + 12 * 3600),
    )

    with site_db(site) as db:
        samples = db.execute(
            "SELECT timestamp, soc, pv_w, load_w, battery_w, grid_w FROM telemetry_samples "
            "ORDER BY timestamp"
        ).fetchall()
        issued = db.execute(
            "SELECT COUNT(DISTINCT start) FROM price_issues WHERE start < ?", (now,)
        ).fetchone()[0]
    assert len(samples) == 4 * 12 + 1  # a tick at start and every 5 minutes since
    assert [
        (row["at"], row["soc"], row["pv_w"], row["load_w"], row["battery_w"], row["grid_w"])
        for row in chart["actual"]
    ] == [(local(t), *values) for t, *values in samples]

    prices = chart["prices"]
    assert len(prices) == issued > 0
    assert all(p["start"] < chart["now"] and p["end"] > chart["since"] for p in prices)
    assert all(isinstance(p["import_price"], float) for p in prices)

    plan = site.engine.context.get("global", "plan")
    slots = chart["plan"]["slots"]
    assert chart["plan"]["created_at"] == plan["created_at"]
    assert len(slots) == 24  # 12 hours of half hours, from the one holding now
    assert slots[0]["start"] <= chart["now"] < slots[0]["end"]
    assert slots[-1]["end"] == local(now + 12 * 3600)
    by_start = {datetime.fromisoformat(s["start"]).timestamp(): s for s in plan["slots"]}
    for slot in slots:
        planned = by_start[datetime.fromisoformat(slot["start"]).timestamp()]
        assert (slot["mode"], slot["soc"], slot["battery_w"], slot["import_price"]) == (
            planned["mode"],
            planned["soc_end"],
            planned["battery_w"],
            planned["import_price"],
        )
        assert slot["grid_w"] == pytest.approx(planned["grid_import_w"] - planned["grid_export_w"])

    status, refused = await get(http, site, "/api/overview/chart?hours=0&ahead=99&colour=red")
    assert status == 400 and refused["error"] == "bad chart query"
    assert [p["field"] for p in refused["problems"]] == ["colour", "hours", "ahead"]


async def test_the_history_adds_up_to_the_counters_and_the_ledger(
    site: Service, http: aiohttp.ClientSession
) -> None:
    await run_for(site, 4 * 3600)
    status, slots = await get(http, site, "/api/history?resolution=30min")
    assert status == 200 and slots["resolution"] == "30min" and slots["ledger"] is True
    rows = slots["rows"]
    assert [r["start"] for r in rows] == [local(START + i * 1800) for i in range(8)]
    assert all(r["samples"] == 6 and r["metered_s"] == 1800 for r in rows)

    with site_db(site) as db:
        totals = ", ".join(f"{c}_total_kwh" for c in COUNTERS)
        first, last = (
            db.execute(
                f"SELECT {totals} FROM telemetry_samples ORDER BY timestamp {order} LIMIT 1"
            ).fetchone()
            for order in ("ASC", "DESC")
        )
        posted = events_between(db, 0, 1e12)
    for name, a, b in zip(COUNTERS, first, last, strict=True):
        assert sum(r[f"{name}_kwh"] for r in rows) == pytest.approx(b - a, abs=1e-9), name

    # The cash: every import_cost and export_revenue entry, and the settlements.
    spent = -sum(e["amount"] for e in posted if e["kind"] in ("import_cost", "import_settlement"))
    earned = sum(
        e["amount"] for e in posted if e["kind"] in ("export_revenue", "export_settlement")
    )
    assert any(e["kind"] == "import_settlement" for e in posted)
    assert sum(r["import_cost"] for r in rows) == pytest.approx(spent, abs=1e-9)
    assert sum(r["export_revenue"] for r in rows) == pytest.approx(earned, abs=1e-9)
    assert all(r["net_cost"] == pytest.approx(r["import_cost"] - r["export_revenue"]) for r in rows)
    imported = sum(e["kwh"] for e in posted if e["kind"] == "import_cost")
    assert sum(r["grid_import_kwh"] for r in rows) == pytest.approx(imported, abs=1e-9)
    assert all(r["import_price"] is not None for r in rows)

    # A day and its week are the same half hours added up.
    status, days = await get(http, site, "/api/history?resolution=day&since=2026-01-15")
    assert status == 200
    (day,) = days["rows"]
    assert (day["date"], day["start"], day["end"]) == (
        "2026-01-15",
        "2026-01-15T00:00:00+10:00",
        "2026-01-16T00:00:00+10:00",
    )
    status, weeks = await get(http, site, "/api/history?resolution=week")
    (week,) = weeks["rows"]
    assert (week["week"], week["start"]) == ("2026-W03", "2026-01-12T00:00:00+10:00")
    for total in (day, week):
        for name in (*(f"{c}_kwh" for c in COUNTERS), "import_cost", "export_revenue"):
            assert total[name] == pytest.approx(sum(r[name] for r in rows), abs=1e-9), name
        assert total["samples"] == 4 * 12 + 1  # the tick at 16:00 is in the day, not a slot yet

    status, some = await get(
        http,
        site,
        f"/api/history?fields=pv_kwh,import_price&since={START:.0f}&until={START + 3600:.0f}",
    )
    assert status == 200 and some["units"] == {"pv_kwh": "kWh", "import_price": "$/kWh"}
    assert [set(r) for r in some["rows"]] == [{"start", "end", "pv_kwh", "import_price"}] * 2


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        (
            "resolution=hour&since=yesterday&fields=pv,soc_last&colour=red",
            ["colour", "resolution", "since", "fields"],
        ),
        ("resolution=30min&since=2025-01-01&until=2025-03-01", ["since"]),
        ("resolution=day&since=2026-01-15&until=2026-01-14", ["until"]),
    ],
)
async def test_a_bad_history_query_is_refused_naming_each_field(
    site: Service, http: aiohttp.ClientSession, query: str, fields: list[str]
) -> None:
    status, refused = await get(http, site, f"/api/history?{query}")
    assert status == 400 and refused["error"] == "bad history query"
    assert [p["field"] for p in refused["problems"]] == fields


async def test_a_tick_reaches_the_event_stream_as_a_state_event(
    site: Service, http: aiohttp.ClientSession
) -> None:
    async with http.get(url(site, "/api/events")) as response:
        await read_until(response, lambda e: e["type"] == "ready")
        await run_for(site, 300)
        now = site.clock.time()
        event = await read_until(
            response, lambda e: e["type"] == "state" and e["state"]["decided_at"] == now
        )
    assert event["state"]["telemetry_at"] == now
    assert event["state"] == site.state()
    assert event["health"]["status"] == site.health()["status"] == "ok"


async def read_until(
    response: aiohttp.ClientResponse, wanted: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    async for raw in response.content:
        line = raw.decode().rstrip("\r\n")
        if line.startswith("data: ") and wanted(event := json.loads(line[6:])):
            return dict(event)
    raise AssertionError("the stream ended before the wanted event")
