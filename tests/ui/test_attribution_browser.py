"""Where the money went, on the Accounting page, in a real browser (Debian's Chromium)
at a phone's width and a desktop's, on the running demo.

The demo's site database already holds the day before it starts (the Brisbane home
with no sun where Solcast promised 4 kW: tests/nodes/planning/recorded_site.py), with
its bill in the ledger; the attribution flow works it out as the demo starts. The page
shows the day's bill, the best possible and each part of the gap, the same figures as
/api/attribution, to the cent; the day before it, with a half hour of history, says why
it was not worked out; nothing scrolls sideways. Screenshots go to
test-artifacts/screenshots (went-*.png).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from flowengine.database import open_database
from nodes.planning.attribution import PARTS
from tests.nodes.planning.recorded_site import SiteDay, by_time, record_day
from tests.ui.browser import (
    DESKTOP,
    PHONE,
    chromium,
    needs_chromium,
    playwright_api,
    sign_in,
    watched_page,
)
from tests.ui.demo import ARTIFACTS, PASSWORD, DemoSite, demo_site

pytestmark = needs_chromium
expect = playwright_api.expect
SHOTS = ARTIFACTS / "screenshots"
MINUS = "\u2212"


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[DemoSite]:
    data = tmp_path / "data"
    data.mkdir()
    db = open_database(data / "site.db", schema="")
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
    finally:
        db.close()
    async with demo_site(tmp_path) as running:
        yield running


def dollars(value: float) -> str:
    """As the page writes money: "$0.27", or with a minus sign (MINUS) before the "$"."""
    return f"{MINUS if value < 0 else ''}${abs(value):.2f}"


async def test_each_day_shows_its_bill_the_best_possible_and_where_the_gap_went(
    site: DemoSite,
) -> None:
    body = site.service.attribution({})
    [day] = [d for d in body["days"] if d["date"] == "2026-01-14"]
    async with chromium() as browser:
        for label, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
            watched = await watched_page(browser, site.url, viewport)
            await sign_in(watched, PASSWORD, "/accounting")
            page = watched.page
            row = page.locator('#went-days tr[data-date="2026-01-14"]')
            await expect(row).to_be_visible()
            await expect(row.locator("th")).to_contain_text("Wed 14 Jan")
            await expect(row.locator('td[data-label="Bill"]')).to_have_text("$0.60")
            best = row.locator('td[data-label="Best possible"]')
            await expect(best).to_have_text(dollars(day["optimum"]["bill"]))
            gap = row.locator('td[data-label="Gap"]')
            await expect(gap).to_have_text(dollars(day["gap"]))
            await expect(gap).to_have_attribute("data-state", "cost")
            for part in PARTS:
                cell = row.locator(f'td[data-part="{part}"]')
                await expect(cell).to_have_text(dollars(day["parts"][part]))
                value = await cell.get_attribute("data-value")
                assert value is not None and float(value) == pytest.approx(day["parts"][part])
            await expect(row.locator('td[data-part="pv"]')).to_have_attribute("data-state", "cost")
            await expect(row.locator('td[data-part="load"]')).to_have_text("$0.00")
            summary = page.locator("#went-summary")
            await expect(summary).to_contain_text("Over 1 day:")
            await expect(summary).to_contain_text(f"PV forecasts {dollars(day['parts']['pv'])}")
            before = page.locator('#went-days tr[data-date="2026-01-13"]')
            await expect(before).to_contain_text("Not worked out: the history holds 1 of")
            await page.locator("#went-legend summary").click()
            await expect(page.locator("#went-value")).to_contain_text("c/kWh on Wed 14 Jan")
            width = await page.evaluate("document.scrollingElement.clientWidth")
            scroll = await page.evaluate("document.scrollingElement.scrollWidth")
            assert scroll <= width, f"{label}: the page scrolls sideways ({scroll} > {width})"
            table = await page.evaluate(
                "(() => { const t = document.querySelector('#went-days').parentElement;"
                " return [t.scrollWidth, t.clientWidth]; })()"
            )
            if label == "phone":  # one day a card: nothing to scroll on a phone
                assert table[0] <= table[1], table
            SHOTS.mkdir(parents=True, exist_ok=True)
            await page.locator("#went-title").scroll_into_view_if_needed()
            await page.screenshot(path=str(SHOTS / f"went-{label}.png"), full_page=True)
            section = page.locator("section", has=page.locator("#went-title"))
            await section.screenshot(path=str(SHOTS / f"went-{label}-section.png"))
            assert watched.problems == [], watched.problems
            assert watched.foreign() == [], watched.foreign()
