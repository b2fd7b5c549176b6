"""API tokens in Settings, in Debian's Chromium against the running demo: a token is made
with a name, shown once, works as a bearer token, is gone from the page after a reload,
and once revoked opens nothing."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from tests.ui.browser import (
    DESKTOP,
    chromium,
    needs_chromium,
    playwright_api,
    sign_in,
    watched_page,
)
from tests.ui.demo import ARTIFACTS, PASSWORD, demo_site

pytestmark = needs_chromium
expect = playwright_api.expect
FORCE_CHARGE = {"mode": "force_charge", "power_w": 3000, "duration": "1h"}


async def bearer_status(url: str, token: str) -> int:
    async with (
        aiohttp.ClientSession() as script,
        script.post(
            f"{url}/api/override", json=FORCE_CHARGE, headers={"Authorization": f"Bearer {token}"}
        ) as response,
    ):
        return response.status


async def test_a_token_is_made_in_settings_shown_once_and_revoked(tmp_path: Path) -> None:
    async with demo_site(tmp_path) as site, chromium() as browser:
        watched = await watched_page(browser, site.url, DESKTOP)
        await sign_in(watched, PASSWORD, "/settings")
        page = watched.page
        section = page.locator("#api-tokens")
        await expect(section.locator("#token-list")).to_contain_text("No tokens yet.")
        await section.get_by_label("Name").fill("Home Assistant")
        await section.get_by_role("button", name="Create token").click()
        shown = section.locator("#token-text")
        await expect(shown).to_be_visible()
        token = await shown.input_value()
        assert token.startswith("pm_")
        await expect(section.locator("#token-list")).to_contain_text("Home Assistant")
        await expect(section.locator("#token-list")).to_contain_text("never used")
        shots = ARTIFACTS / "screenshots"
        shots.mkdir(parents=True, exist_ok=True)
        await section.screenshot(path=str(shots / "settings-api-tokens.png"))

        assert await bearer_status(site.url, token) == 200
        assert site.service.override() is not None

        await page.reload()  # shown once: nowhere on the page any more
        await expect(section.locator("#token-list")).to_contain_text("last used")
        assert token not in await page.content()
        await expect(section.locator("#token-new")).to_be_hidden()

        page.once("dialog", lambda dialog: dialog.accept())
        await section.get_by_role("button", name="Revoke Home Assistant").click()
        await expect(section.locator("#token-list")).to_contain_text("No tokens yet.")
        assert await bearer_status(site.url, token) == 401
        assert watched.problems == [], watched.problems
        assert watched.foreign() == []
        # The one response that carried the token was the one that made it.
        assert sum(token in body for body in watched.bodies) == 1
