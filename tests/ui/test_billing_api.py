"""/api/billing and /api/ledger on the whole service, on virtual time across a boundary.

The demo site (Brisbane, UTC+10) starts 20 minutes before midnight on 1 February, the
first day of its billing cycle. The first posting after midnight closes January's cycle
(the ledger saw only its last 20 minutes of it, and says so), and the open cycle starts
at midnight. The figures are checked for adding up as a bill does; the arithmetic to
the cent by hand is in tests/nodes/ledger/test_cycles.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from flowengine import VirtualClock
from flowengine.database import open_database
from nodes.ledger.cycles import closed
from powermaster.service import Service
from tests.support.service import running_service
from tests.support.web import owner_of

MIDNIGHT = datetime(2026, 1, 31, 14, 0, tzinfo=UTC).timestamp()  # 00:00 on 1 Feb, Brisbane
START = MIDNIGHT - 20 * 60
BILLING = {"start_day": 1, "supply_charge": 1.0, "monthly_fee": 10.0}


@pytest.fixture
async def site(tmp_path: Path, free_port: int) -> AsyncIterator[Service]:
    async with running_service(
        tmp_path / "data", free_port, START, extra_settings={"billing": BILLING}
    ) as service:
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


async def run_until(site: Service, moment: float) -> None:
    clock = site.clock
    assert isinstance(clock, VirtualClock)
    while clock.time() < moment:
        await clock.advance(300)
        await site.engine.settle()


def adds_up(figures: dict[str, Any]) -> None:
    """The bill's lines make its net, and each saving is a counterfactual bill less it."""
    bill = {
        name: Decimal(value)
        for name, value in figures["bill"].items()
        if name.endswith(("_cost", "_revenue", "_charges", "_fees", "_bill"))
    }
    net = (
        bill["import_cost"] - bill["export_revenue"] + bill["supply_charges"] + bill["monthly_fees"]
    )
    assert net == bill["net_bill"]
    for baseline in ("no_battery", "self_use"):
        other = figures[baseline]
        assert (
            Decimal(other["net_bill"])
            == Decimal(other["energy"]) + bill["supply_charges"] + bill["monthly_fees"]
        )
        assert Decimal(other["saving"]) == Decimal(other["net_bill"]) - net
    for value in (*figures["bill"].values(), *figures["savings"].values()):
        assert isinstance(value, int) or Decimal(value) == Decimal(value).quantize(Decimal("0.001"))


async def test_the_first_posting_after_midnight_closes_the_cycle_and_the_api_shows_it(
    site: Service, http: aiohttp.ClientSession
) -> None:
    status, before = await get(http, site, "/api/billing")
    assert status == 200 and before["closed"] == []
    assert before["current"]["end"] == "2026-02-01T00:00:00+10:00"

    await run_until(site, MIDNIGHT + 30 * 60)
    status, shown = await get(http, site, "/api/billing")
    assert status == 200
    assert shown["terms"] == {
        "start_day": 1,
        "supply_charge": "1.0",
        "monthly_fee": "10.0",
        "timezone": "Australia/Brisbane",
    }
    (january,) = shown["closed"]
    assert (january["start"], january["end"]) == (
        "2026-01-01T00:00:00+10:00",
        "2026-02-01T00:00:00+10:00",
    )
    assert (january["status"], january["stored"], january["revision"]) == ("closed", True, 1)
    assert january["closed_at"] <= "2026-02-01T00:05:00+10:00"  # the first tick after midnight
    assert january["days"] == january["bill"]["supply_days"] == 31
    assert january["bill"]["supply_charges"] == "31.00" and january["bill"]["monthly_fees"] == (
        "10.00"
    )
    assert january["complete"] is False  # the ledger began at 23:40 on 31 January
    assert january["unaccounted_hours"] == pytest.approx(31 * 24 - 20 / 60, abs=0.01)
    assert Decimal(january["no_battery"]["energy"]) > 0  # its 20 minutes of night-time load
    adds_up(january)

    current = shown["current"]
    assert (current["status"], current["start"]) == ("open", "2026-02-01T00:00:00+10:00")
    assert current["end"] == "2026-03-01T00:00:00+10:00"
    assert current["bill"]["supply_days"] == 1 and current["complete"] is True
    adds_up(current)
    assert current["projected"] is None  # minutes of February: too early to carry over it

    db = open_database(Path(site.options.data_dir) / "site.db", schema="")
    assert [c.revision for c in closed(db)] == [1]  # kept in site.db
    db.close()


async def test_the_ledger_lists_entries_newest_first_and_refuses_a_bad_query(
    site: Service, http: aiohttp.ClientSession
) -> None:
    await run_until(site, START + 20 * 60)
    status, page = await get(http, site, "/api/ledger?kind=import_cost,export_revenue&limit=3")
    assert status == 200
    times = [entry["at"] for entry in page["entries"]]
    assert len(times) == 3 and times == sorted(times, reverse=True)
    assert {entry["kind"] for entry in page["entries"]} <= {"import_cost", "export_revenue"}
    assert page["more"] is True and page["limit"] == 3 and page["gaps"] == []

    status, since = await get(http, site, f"/api/ledger?since={START + 10 * 60:.0f}")
    assert status == 200 and since["entries"]
    assert all(entry["at"] >= "2026-01-31T23:50:00+10:00" for entry in since["entries"])

    status, refused = await get(http, site, "/api/ledger?since=tomorrow&limit=5000&colour=red")
    assert status == 400
    assert refused["error"] == "bad ledger query"
    assert [p["field"] for p in refused["problems"]] == ["colour", "since", "limit"]
    assert "is not a time" in refused["problems"][1]["message"]
