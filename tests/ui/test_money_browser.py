"""Money that adds up, in a real browser (Debian's Chromium) on the running demo.

The billing cycle so far is one figure under one name, "net bill", on the Overview's
savings card, the Graphs page (this cycle, money), the Accounting page and both APIs.
On a fresh start (no tick yet) nothing shows a negative or unexplained saving, and
nothing warns of time "unaccounted" before the ledger began. Screenshots at a phone's
and a desktop's width go to test-artifacts/screenshots (money-*.png).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

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
WIDTHS = (("phone", PHONE), ("desktop", DESKTOP))
MINUS = "\u2212"  # the pages' minus sign, as PM.fmt writes it


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[DemoSite]:
    async with demo_site(tmp_path) as running:
        await running.tick(3 * 3600)  # three hours of the morning: exports, the battery used
        yield running


async def api(page: Any, url: str) -> Any:
    answer = await page.context.request.get(url)
    assert answer.status == 200, url
    return await answer.json()


async def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"money-{name}.png"), full_page=True)


async def test_the_cycles_net_bill_is_the_same_on_every_page_and_api(site: DemoSite) -> None:
    async with chromium() as browser:
        for label, viewport in WIDTHS:
            watched = await watched_page(browser, site.url, viewport)
            await sign_in(watched, PASSWORD, "/overview")
            page = watched.page
            billing = await api(page, f"{site.url}/api/billing")
            current = billing["current"]
            since = datetime.fromisoformat(current["start"]).timestamp()
            history = await api(page, f"{site.url}/api/history?resolution=day&since={since:.0f}")
            figure = current["bill"]["net_bill"]
            assert history["bill"]["bill"]["net_bill"] == figure  # the two APIs
            saved = current["no_battery"]["saving"]

            card = page.locator("#savings")
            await expect(card).to_have_attribute("data-updated", re.compile(r"\d"))
            overview = card.locator('tr[data-row="net"] td[data-span="cycle"]')
            await expect(overview).to_have_attribute("data-value", figure)
            text = await overview.text_content()
            assert text and re.fullmatch(rf"{MINUS}?\$\d+\.\d\d", text)
            await expect(
                card.locator('tr[data-row="no_battery"] td[data-span="cycle"]')
            ).to_have_attribute("data-value", saved)
            await shot(page, f"overview-{label}")

            await page.goto(f"{site.url}/graphs#money-cycle")
            graphs = page.locator("#graph-net-bill")
            await expect(graphs).to_have_attribute("data-value", figure)
            await expect(graphs).to_have_text(text)
            await expect(page.locator("#graph-bill")).to_contain_text("Net bill in this window")
            # Dates as every page writes them ("Thu 15 Jan 2026"), not the browser's locale.
            span = page.locator("#graph-span")
            await expect(span).to_have_text(re.compile(r"^\w{3} \d{1,2} \w{3} \d{4} \u2013 "))
            await shot(page, f"graphs-{label}")

            await page.goto(f"{site.url}/accounting")
            accounting = page.locator("#cycle-net")
            await expect(accounting).to_have_attribute("data-value", figure)
            await expect(accounting).to_have_text(text)
            saving = page.locator("#saved-vs-no-battery")
            await expect(saving).to_have_attribute("data-value", saved)
            await expect(page.locator("#cycle-lines")).to_contain_text("Net bill")
            # The ledger: one row an interval, prices in c/kWh, no $/kWh anywhere.
            rows = page.locator("#ledger tbody tr[data-key]")
            await expect(rows.first).to_be_visible()
            keys = await rows.evaluate_all("rows => rows.map(r => r.dataset.key)")
            assert len(keys) == len(set(keys))
            await expect(page.locator("#ledger")).to_contain_text("c/kWh")
            assert "$/kWh" not in (await page.locator("main").text_content() or "")
            await shot(page, f"accounting-{label}")

            await page.goto(f"{site.url}/overview")
            price = re.compile(rf"^{MINUS}?\d+\.\d c/kWh$")
            await expect(page.locator("#import-price")).to_have_text(price)
            assert watched.problems == [], watched.problems
            site.seen.extend(watched.bodies)
    assert site.leaks() == []


async def test_a_fresh_start_shows_no_negative_or_unexplained_saving_and_no_unaccounted_warning(
    tmp_path: Path,
) -> None:
    async with demo_site(tmp_path) as fresh, chromium() as browser:
        for label, viewport in WIDTHS:
            watched = await watched_page(browser, fresh.url, viewport)
            await sign_in(watched, PASSWORD, "/overview")
            page = watched.page
            card = page.locator("#savings")
            await expect(card).to_have_attribute("data-updated", re.compile(r"\d"))
            for baseline in ("self_use", "no_battery"):
                cells = card.locator(f'tr[data-row="{baseline}"] td')
                await expect(cells).to_have_count(3)
                await expect(cells).to_have_text(["not enough data yet"] * 3)
            await expect(card.locator('[data-state="cost"]')).to_have_count(0)
            await expect(card.locator("#savings-reasons")).to_be_hidden()
            await expect(card.locator('tr[data-row="net"] td')).to_have_text(["$0.00"] * 3)
            await expect(page.locator("#savings-note")).to_contain_text("The ledger began")
            assert MINUS not in (await card.locator("tbody").text_content() or "")
            await shot(page, f"fresh-overview-{label}")

            await page.goto(f"{fresh.url}/accounting")
            await expect(page.locator("#saved-vs-no-battery")).to_have_text("not enough data yet")
            await expect(page.locator("#saved-vs-self-use")).to_have_text("not enough data yet")
            await expect(page.locator("#cycle-net")).to_have_text("$0.00")
            await expect(page.locator("#cycle-began")).to_contain_text("The ledger began")
            await expect(page.locator("#cycle-coverage")).to_be_hidden()
            await expect(page.locator("#saved-reasons")).to_be_hidden()
            await expect(page.locator(".badge.warn")).to_have_count(0)
            await expect(page.locator("#ledger tbody")).to_contain_text("Nothing in the ledger yet")
            main = (await page.locator("main").text_content() or "").lower()
            assert "unaccounted" not in main
            assert not re.search(rf"saved[^.]*{MINUS}\$", main)
            await shot(page, f"fresh-accounting-{label}")
            assert watched.problems == [], watched.problems


async def test_a_saving_below_zero_is_a_cost_with_its_reason(tmp_path: Path) -> None:
    """Half an hour of charging from the grid at 5 kW: against either baseline that is money
    spent so far, shown as a cost, with why (the energy is in the battery, for later)."""
    async with demo_site(tmp_path) as running, chromium() as browser:
        running.service.set_override("force_charge", 5000, "1h")
        await running.tick(1800)
        spans = running.service.billing()["spans"]
        assert Decimal(spans["today"]["no_battery"]["saving"]) < 0
        assert Decimal(spans["today"]["battery_stored"]) > 0
        watched = await watched_page(browser, running.url, PHONE)
        await sign_in(watched, PASSWORD, "/overview")
        page = watched.page
        card = page.locator("#savings")
        cell = card.locator('tr[data-row="no_battery"] td[data-span="today"]')
        await expect(cell).to_have_attribute("data-state", "cost")
        await expect(cell).to_have_text(re.compile(r"^cost \$\d+\.\d\d$"))
        reasons = card.locator("#savings-reasons")
        await expect(reasons).to_be_visible()
        await expect(reasons.locator("li")).to_have_count(2)  # one line a baseline
        await expect(reasons).to_contain_text("Against no battery, a cost today")
        await expect(reasons).to_contain_text("the battery holds $")
        await shot(page, "cost-overview-phone")
        await page.goto(f"{running.url}/accounting")
        await expect(page.locator("#saved-vs-no-battery")).to_have_text(re.compile(r"^cost \$"))
        await expect(page.locator("#saved-reasons")).to_contain_text("charged for later")
        await expect(page.locator("#ledger")).to_contain_text("from the grid")
        await shot(page, "cost-accounting-phone")
        assert watched.problems == [], watched.problems
