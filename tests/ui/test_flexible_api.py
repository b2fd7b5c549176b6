"""GET /api/flexible and a flexible load's one-off target over HTTP against the demo."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.support.web import client, sign_in
from tests.ui.demo import PASSWORD, demo_site
from tests.ui.test_flexible_browser import with_car


async def call(
    http: aiohttp.ClientSession, method: str, url: str, body: Any = None
) -> tuple[int, Any]:
    async with http.request(method, url, json=body) as response:
        return response.status, await response.json()


async def test_targets_are_checked_field_by_field_and_listed(tmp_path: Path) -> None:
    async with demo_site(tmp_path, edit=with_car) as site:
        await site.tick(3 * 3600)
        async with client() as http:
            await sign_in(http, site.url, PASSWORD)
            url = f"{site.url}/api/flexible"
            status, listing = await call(http, "GET", url)
            (car,) = listing["loads"]
            assert car["id"] == "car" and car["kind"] == "car" and car["one_off"] is None
            assert car["plan"]["needed_kwh"] == 33.333
            assert car["plan"]["deadline"].startswith("2026-01-16T07:30:00+10:00")
            assert sum(s["power_w"] for s in car["plan"]["slots"]) / 2000 == pytest.approx(
                33.333, abs=1e-3
            )

            status, bad = await call(http, "POST", f"{url}/car/target", {"soc": 1.5, "by": "25:99"})
            assert status == 422
            assert {p["field"] for p in bad["problems"]} == {"soc", "by"}
            assert "'25:99' is not a time of day: HH:MM" in str(bad)
            huge = {"energy_kwh": 500, "by": "06:00"}
            status, too_much = await call(http, "POST", f"{url}/car/target", huge)
            assert status == 422 and "more than a day at its max_w (172.8)" in str(too_much)
            both = {"soc": 0.9, "energy_kwh": 5, "by": "06:00"}
            assert (await call(http, "POST", f"{url}/car/target", both))[0] == 422
            status, unknown = await call(
                http, "POST", f"{url}/boat/target", {"soc": 0.9, "by": "6:00"}
            )
            assert status == 404
            assert "no flexible load 'boat' (car)" in str(unknown)

            status, made = await call(
                http, "POST", f"{url}/car/target", {"soc": 0.9, "by": "06:00"}
            )
            assert status == 201
            assert made["by"].startswith("2026-01-16T06:00:00+10:00")
            status, again = await call(
                http, "POST", f"{url}/car/target", {"soc": 0.9, "by": "06:00"}
            )
            assert status == 201 and again["replaced"]["by"] == made["by"]
            await site.tick(60)
            car = (await call(http, "GET", url))[1]["loads"][0]
            assert car["one_off"]["soc"] == 0.9
            assert car["plan"]["needed_kwh"] == 40.0

            assert (await call(http, "DELETE", f"{url}/car/target"))[0] == 200
            assert (await call(http, "DELETE", f"{url}/car/target"))[0] == 404
