"""The flows page in a real browser (Debian's Chromium driven by Playwright).

Opens /flows, checks the SVG graph, clicks "Run now" and watches a node's
message count go up live over Server-Sent Events, without reloading.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ui.conftest import PASSWORD, running_ui

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

playwright_api = pytest.importorskip("playwright.async_api", reason="playwright is not installed")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)"
)


async def test_run_now_updates_the_graph_live(free_port: int) -> None:
    expect = playwright_api.expect
    async with running_ui(free_port) as ui, playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = await browser.new_page(viewport={"width": 390, "height": 844})  # a phone
            requests: list[str] = []
            page.on("request", lambda request: requests.append(request.url))
            problems: list[str] = []
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on("console", lambda m: problems.extend([m.text] if m.type == "error" else []))

            await page.goto(f"{ui.url}/flows")  # signed out: the sign-in page first
            await page.fill("#password", PASSWORD)
            await page.get_by_role("button", name="Sign in").click()
            await page.wait_for_url(f"{ui.url}/flows")
            demo = page.locator('section.flow[data-flow="demo"]')
            for node in ("num", "split", "small", "big"):
                await expect(demo.locator(f'svg g.node[data-node="{node}"]')).to_have_count(1)
            await expect(demo.locator("svg path.wire")).to_have_count(3)
            big = demo.locator('g.node[data-node="big"]')
            await expect(big.locator(".count")).to_have_text("0")
            await expect(big.locator(".type")).to_have_text("test.collect")
            await expect(page.locator("body")).to_have_attribute("data-live", "1")

            await demo.get_by_role("button", name="Run now").click()
            await expect(big.locator(".count")).to_have_text("1")
            await expect(demo.locator('g.node[data-node="small"] .count')).to_have_text("0")
            await expect(demo.locator(".result")).to_contain_text("started")
            assert ui.engine.flows["demo"].nodes["big"].count == 1

            await big.click()
            panel = page.locator("#panel")
            await expect(panel).to_be_visible()
            await expect(panel).to_contain_text("Remembers every payload it gets.")

            await demo.locator("details.runs summary").click()
            await demo.locator("button.run-item").first.click()
            await expect(panel.locator(".timeline tbody tr")).to_have_count(3)
            await expect(panel.locator(".timeline")).to_contain_text("big")

            origin = ui.url + "/"
            assert [url for url in requests if not url.startswith(origin)] == []
            assert problems == []
        finally:
            await browser.close()
