"""The same span's net bill from /api/billing and the Graphs page's /api/history, on the
whole service on virtual time; fixed charges pro rata to the hours the ledger covers; the
ledger one interval to a row.

The demo site (Brisbane) starts at 06:00 on 15 January, two weeks into its billing cycle
(start day 1), and runs three hours: the cycle so far is those three hours, not 15 days
of supply charge, and the two weeks before the ledger began are no warning.
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
from powermaster.service import Service
from tests.support.service import running_service
from tests.support.web import owner_of

START = datetime(2026, 1, 14, 20, 0, tzinfo=UTC).timestamp()  # 06:00 on 15 January
BILLING = {"start_day": 1, "supply_charge": 1.20, "monthly_fee": 15.50}


@pytest.fixture
async def site(tmp_path: Path, free_port: int) -> AsyncIterator[Service]:
    async with running_service(
        tmp_path / "data", free_port, START, extra_settings={"billing": BILLING}
    ) as service:
        clock = service.clock
        assert isinstance(clock, VirtualClock)
        while clock.time() < START + 3 * 3600:
            await clock.advance(300)
            await service.engine.settle()
        yield service


@pytest.fixture
async def http(site: Service) -> AsyncIterator[aiohttp.ClientSession]:
    session = await owner_of(site)
    async with session:
        yield session


async def get(http: aiohttp.ClientSession, site: Service, path: str) -> Any:
    url = f"http://{site.options.host}:{site.options.port}{path}"
    async with http.get(url) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def test_the_cycle_so_far_is_one_net_bill_on_both_apis(
    site: Service, http: aiohttp.ClientSession
) -> None:
    billing = await get(http, site, "/api/billing")
    current = billing["current"]
    assert current["start"] == "2026-01-01T00:00:00+10:00"
    since = datetime.fromisoformat(current["start"]).timestamp()
    graphs = await get(http, site, f"/api/history?resolution=day&since={since:.0f}")
    assert graphs["bill"]["bill"] == current["bill"]  # every line, the net bill too
    assert graphs["bill"]["bill"]["net_bill"] == current["bill"]["net_bill"]
    assert billing["spans"]["cycle"]["bill"] == current["bill"]
    # The same span at half hours from when the ledger began: nothing before it is charged.
    began = datetime.fromisoformat(billing["ledger_began"]).timestamp()
    halves = await get(http, site, f"/api/history?resolution=30min&since={began:.0f}")
    assert halves["bill"]["bill"]["net_bill"] == current["bill"]["net_bill"]
    # Each row's net bill is its import cost less its export revenue plus its fixed charges,
    # and the rows' fixed charges add up to the window's.
    rows = halves["rows"]
    assert len(rows) == 6
    for row in rows:
        expected = (row["import_cost"] or 0) - (row["export_revenue"] or 0) + row["fixed_charges"]
        assert row["net_bill"] == pytest.approx(expected)
    fixed = Decimal(current["bill"]["supply_charges"]) + Decimal(current["bill"]["monthly_fees"])
    assert sum(row["fixed_charges"] for row in rows) == pytest.approx(float(fixed), abs=0.01)
    assert halves["units"]["net_bill"] == "$"


async def test_so_far_carries_three_hours_of_fixed_charges_and_no_warning_before_it(
    site: Service, http: aiohttp.ClientSession
) -> None:
    current = (await get(http, site, "/api/billing"))["current"]
    bill = current["bill"]
    assert bill["charged_days"] == "0.125"  # 3 of 24 hours, not the 15 days begun
    assert bill["supply_charges"] == "0.15"  # 1.20 x 0.125
    assert bill["monthly_fees"] == "0.06"  # 15.50 / 31 x 0.125 = 0.0625
    net = (
        Decimal(bill["import_cost"])
        - Decimal(bill["export_revenue"])
        + Decimal(bill["supply_charges"])
        + Decimal(bill["monthly_fees"])
    )
    assert Decimal(bill["net_bill"]) == net
    assert current["before_ledger_hours"] == 14 * 24 + 6  # told apart from a gap...
    assert current["gap_hours"] == 0 and current["gaps"] == 0  # ...and there is none
    assert current["no_battery"] is not None and current["intervals"] == 36


async def test_the_ledger_is_one_row_per_interval_without_zeros(
    site: Service, http: aiohttp.ClientSession
) -> None:
    page = await get(http, site, "/api/ledger?view=intervals&limit=1000")
    rows = page["intervals"]
    starts = [row["start"] for row in rows if not row["settlement"]]
    assert len(starts) == len(set(starts)) and 0 < len(starts) <= 36  # one row an interval
    assert starts == sorted(starts, reverse=True)
    numbers = [value for row in rows for value in row.values() if isinstance(value, float)]
    assert numbers and all(abs(value) > 1e-9 for value in numbers)  # no zero is given
    entries = (await get(http, site, "/api/ledger?limit=1000"))["entries"]
    ticks = [e for e in entries if not e["kind"].endswith("_settlement")]
    moved = {e["at"] for e in ticks if abs(e["amount"]) > 1e-9 or abs(e["kwh"]) > 1e-9}
    assert set(starts) == moved  # every interval where something moved, and only those
    assert len(ticks) > 3 * len(starts)  # ten entries a tick, one row
