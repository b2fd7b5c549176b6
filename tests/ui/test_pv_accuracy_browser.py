"""The Graphs page's solar forecast card in a real browser (Debian's Chromium), on the
running demo with calibration switched on in its site config and eight days of Solcast
forecasts recorded against the panels before it started: the card shows the API's
figures for the provider picked, one row a day, at a phone's width and a desktop's.
Screenshots go to test-artifacts/screenshots (pv-accuracy-*.png)."""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tests.nodes.forecast.recorded import DAY, HALF_HOUR, half_hour, open_site
from tests.ui.browser import (
    DESKTOP,
    PHONE,
    chromium,
    needs_chromium,
    playwright_api,
    sign_in,
    watched_page,
)
from tests.ui.demo import ARTIFACTS, PASSWORD, demo_site

pytestmark = needs_chromium
expect = playwright_api.expect
#: Midnight starting the demo's first day (it starts at 06:00 on 15 January 2026).
MIDNIGHT = datetime(2026, 1, 15, tzinfo=ZoneInfo("Australia/Brisbane")).timestamp()


def calibration_on(text: str) -> str:
    on, found = re.subn(r"^(pv_calibration:.*\n  enabled: )false", r"\1true", text, flags=re.M)
    assert found == 1, "the shipped site.yaml has pv_calibration.enabled: false"
    return on


def eight_days_of_solcast(data: Path) -> None:
    """10:00-11:00 forecast at 2000 W, given 1600 W, on each of the eight days before."""
    data.mkdir()
    with sqlite3.connect(data / "site.db", isolation_level=None) as db:
        open_site(db)
        for day in range(1, 9):
            for at in (10 * 3600, 10 * 3600 + HALF_HOUR):
                half_hour(db, MIDNIGHT - day * DAY + at, 2000.0, 1600.0)


async def api(page: Any, url: str) -> Any:
    answer = await page.context.request.get(url)
    assert answer.status == 200, url
    return await answer.json()


async def test_the_card_shows_each_days_error_as_issued_and_calibrated(tmp_path: Path) -> None:
    eight_days_of_solcast(tmp_path / "data")
    async with demo_site(tmp_path, edit=calibration_on) as site, chromium() as browser:
        for label, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
            watched = await watched_page(browser, site.url, viewport)
            await sign_in(watched, PASSWORD, "/graphs")
            page = watched.page
            report = await api(page, f"{site.url}/api/forecast/accuracy?days=14")
            assert report["enabled"] is True
            solcast = next(p for p in report["providers"] if p["provider"] == "solcast")
            card = page.locator("#pv-acc")
            await expect(card).to_have_attribute("data-updated", "1")
            picker = page.locator('#pv-acc-provider button[data-provider="solcast"]')
            if len(report["providers"]) > 1:  # the demo's own sample forecast, once recorded
                await picker.click()
                await expect(picker).to_have_attribute("aria-pressed", "true")
            summary = page.locator("#pv-acc-summary")
            total = solcast["total"]
            for name, figure in (
                ("data-bias-raw", total["raw"]),
                ("data-bias-cal", total["calibrated"]),
            ):
                assert float(await summary.get_attribute(name) or "nan") == figure["bias_w"]
            await expect(summary).to_contain_text("Calibration is on")
            await expect(summary).to_contain_text("bias +400 W (+25 %) as issued")
            # One row a day, newest first; the day before the demo began scored as by hand:
            # its factor learned from seven days, 0.9, so 1800 W against 1600 W.
            rows = page.locator("#pv-acc-table tbody tr")
            await expect(rows).to_have_count(14)
            last = page.locator('#pv-acc-table tr[data-date="2026-01-14"]')
            await expect(last.locator("td").nth(3)).to_have_text("+400 W")
            await expect(last.locator("td").nth(4)).to_have_text("+200 W")
            await expect(rows.first).to_contain_text("(so far)")
            await expect(page.locator("#pv-acc-chart svg")).to_be_visible()
            (ARTIFACTS / "screenshots").mkdir(parents=True, exist_ok=True)
            await card.screenshot(path=str(ARTIFACTS / "screenshots" / f"pv-accuracy-{label}.png"))
            assert watched.problems == [], watched.problems
            site.seen.extend(watched.bodies)
    assert site.leaks() == []
