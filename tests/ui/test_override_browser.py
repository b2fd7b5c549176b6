"""The override from the Overview, in Debian's Chromium: asked for, its cost against the
plan previewed (the same sentence /api/override/preview gives), set, then cancelled."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

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
from tests.ui.demo import PASSWORD, DemoSite, demo_site

pytestmark = needs_chromium
expect = playwright_api.expect


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[DemoSite]:
    async with demo_site(tmp_path) as running:
        await running.tick(900)  # telemetry and a plan to compare against
        yield running


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
async def test_an_override_is_previewed_against_the_plan_set_and_cancelled(
    site: DemoSite, viewport: dict[str, int]
) -> None:
    async with chromium() as browser:
        watched = await watched_page(browser, site.url, viewport)
        await sign_in(watched, PASSWORD, "/overview")
        page = watched.page
        await expect(page.locator("#override-now")).to_have_text("none: the flows decide")
        await page.select_option("#override-mode", "force_charge")
        await page.fill("#override-power", "3")
        await page.select_option("#override-for", "1h")
        await expect(page.locator("#override-set")).to_be_disabled()  # not before its cost
        await page.get_by_role("button", name="What would it cost?").click()
        cost = page.locator("#override-cost")
        said = r"^force charge 3 kW for 1 h: (\+\$\d+\.\d\d vs the plan|the same as the plan)"
        await expect(cost).to_have_text(re.compile(said))
        shown = await cost.text_content()
        answer = await page.evaluate(
            """async () => (await (await fetch("/api/override/preview", {method: "POST",
                 headers: {"Content-Type": "application/json", "X-CSRF-Token":
                   document.querySelector('meta[name="csrf-token"]').content},
                 body: JSON.stringify({mode: "force_charge", power_w: 3000, duration: "1h"})}
               )).json())"""
        )
        assert answer["text"] == shown and answer["cost"]["slots"] >= 2
        assert site.service.override() is None  # a preview sets nothing

        await page.get_by_role("button", name="Set override").click()
        await expect(page.locator("#override-now")).to_contain_text("force charge 3.00 kW until")
        stored = site.service.override()
        assert stored is not None and stored["mode"] == "force_charge"
        assert stored["power_w"] == 3000

        await page.fill("#override-power", "2")  # a change asks for its cost again
        await expect(page.locator("#override-set")).to_be_disabled()

        await page.get_by_role("button", name="Cancel override").click()
        await expect(page.locator("#override-now")).to_have_text("none: the flows decide")
        assert site.service.override() is None
        assert watched.problems == [], watched.problems


async def test_a_refused_override_names_its_field(site: DemoSite) -> None:
    async with chromium() as browser:
        watched = await watched_page(browser, site.url, DESKTOP)
        await sign_in(watched, PASSWORD, "/overview")
        page = watched.page
        await page.fill("#override-power", "900")  # 900 kW: beyond the battery
        await page.get_by_role("button", name="What would it cost?").click()
        problem = page.locator("#override-problem")
        await expect(problem).to_contain_text("power_w: 900000 W is beyond")
        await expect(page.locator("#override-set")).to_be_disabled()
