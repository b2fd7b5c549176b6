"""The flows page shows a refused edit of the flow files (a ``reload`` event) as a
banner, and drops it once an edit is applied; in Debian's Chromium."""

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

PROBLEM = "/srv/my-flows/control.yaml:39:11: node type 'control.hierarchi' is unknown"


async def test_a_refused_reload_is_a_banner_until_an_edit_is_applied(free_port: int) -> None:
    expect = playwright_api.expect
    async with running_ui(free_port) as ui, playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = await browser.new_page()
            problems: list[str] = []
            page.on("pageerror", lambda error: problems.append(str(error)))
            await page.goto(f"{ui.url}/flows")
            await page.fill("#password", PASSWORD)
            await page.get_by_role("button", name="Sign in").click()
            await page.wait_for_url(f"{ui.url}/flows")
            await expect(page.locator("body")).to_have_attribute("data-live", "1")
            banner = page.locator("#reload-problems")
            await expect(banner).to_have_count(0)

            refused = {"state": "refused", "at": 0.0, "problems": [PROBLEM]}
            ui.engine.events.publish({"type": "reload", "ok": False, **refused})
            await expect(banner).to_contain_text("do not validate; the running version carries on")
            await expect(banner.locator("li")).to_have_text([PROBLEM])
            banner_box, context_box = (
                await banner.bounding_box(),
                await page.locator("#context").bounding_box(),
            )
            assert banner_box and context_box and banner_box["y"] < context_box["y"]  # on top

            at_start = {
                **refused,
                "running": "the last version that loaded (kept 2026-12-07 14:05 AEST)",
            }
            ui.engine.events.publish({"type": "reload", "ok": False, **at_start})
            await expect(banner).to_contain_text(
                "The flow files or site config on disk do not validate, so Power Master runs "
                "the last version that loaded (kept 2026-12-07 14:05 AEST):"
            )

            changed = {
                "added": [],
                "removed": [],
                "changed": ["control"],
                "connections": [],
                "settings": False,
            }
            ui.engine.events.publish(
                {"type": "reload", "ok": True, "state": "applied", "at": 1.0, "changed": changed}
            )
            await expect(banner).to_have_count(0)
            assert problems == []
        finally:
            await browser.close()
