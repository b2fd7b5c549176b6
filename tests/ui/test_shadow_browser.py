"""Shadow mode and commanded versus actual, as the owner sees them in Chromium.

In shadow mode every page, at a phone's width and a desktop's, carries the banner and
the Overview shows the command each decision would send; live, there is no banner, and
when the Fox app changes the work mode the Overview's Inverter line says so at the next
tick. Screenshots go to test-artifacts/screenshots (shadow-*, disobeyed-*)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from flowengine import VirtualClock
from powermaster.service import Service
from tests.powermaster.test_commanded import fox_app_writes
from tests.support.service import running_service
from tests.ui.browser import (
    DESKTOP,
    PHONE,
    chromium,
    needs_chromium,
    playwright_api,
    sign_in,
    watched_page,
)
from tests.ui.demo import ARTIFACTS, PASSWORD, START
from ui.auth import write_password
from ui.pages import NAV

pytestmark = needs_chromium
expect = playwright_api.expect
BANNER = "Shadow mode: deciding, not commanding."
SHOTS = ARTIFACTS / "screenshots"


async def run_for(site: Service, seconds: float) -> None:
    clock = site.clock
    assert isinstance(clock, VirtualClock)
    await clock.advance(seconds)
    await site.engine.settle()


@pytest.fixture
async def shadow(tmp_path: Path, free_port: int) -> AsyncIterator[Service]:
    write_password(tmp_path / "data", PASSWORD)
    async with running_service(tmp_path / "data", free_port, START, shadow=True) as site:
        await run_for(site, 900)
        yield site


@pytest.fixture
async def live(tmp_path: Path, free_port: int) -> AsyncIterator[Service]:
    write_password(tmp_path / "data", PASSWORD)
    async with running_service(tmp_path / "data", free_port, START) as site:
        await run_for(site, 300)
        yield site


def origin(site: Service) -> str:
    return f"http://{site.options.host}:{site.options.port}"


async def test_every_page_says_shadow_mode_and_the_overview_what_it_would_command(
    shadow: Service,
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    shadow.set_override("force_charge", 3000, "1h")  # decided as ever, commanded never
    await run_for(shadow, 300)
    async with chromium() as browser:
        for label, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
            watched = await watched_page(browser, origin(shadow), viewport)
            page = watched.page
            await page.goto(f"{origin(shadow)}/login")
            await expect(page.locator("#shadow-banner")).to_contain_text(BANNER)
            await sign_in(watched, PASSWORD)
            for path, _ in NAV:
                await page.goto(f"{origin(shadow)}{path}")
                banner = page.locator("#shadow-banner")
                await expect(banner).to_be_visible()
                await expect(banner).to_contain_text(BANNER)
                box = await banner.bounding_box()
                assert box is not None and box["width"] <= viewport["width"], box
            await page.goto(f"{origin(shadow)}/overview")
            state = shadow.state()
            would = page.locator("#would-command")
            await expect(would).to_have_attribute("data-value", state["would_command"]["mode"])
            assert state["would_command"]["mode"] == "force_charge"
            await expect(would).to_have_text(re.compile(r"^force charge \(AC setpoint -?\d"))
            await expect(page.locator("#command-check")).to_have_text(
                "never commanded (shadow mode)"
            )
            await page.wait_for_load_state("load")
            await page.screenshot(path=str(SHOTS / f"shadow-overview-{label}.png"), full_page=True)
            assert watched.problems == [], watched.problems
    assert shadow.simulator is not None and shadow.simulator.writes_received == 0


async def test_live_the_overview_says_when_the_inverter_does_not_do_what_it_was_told(
    live: Service,
) -> None:
    live.set_override("force_charge", 3000, "2h")
    await run_for(live, 300)
    assert live.simulator is not None
    async with chromium() as browser:
        for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            watched = await watched_page(browser, origin(live), viewport)
            page = watched.page
            await sign_in(watched, PASSWORD, "/overview")
            await page.goto(f"{origin(live)}/overview")
            await expect(page.locator("#shadow-banner")).to_have_count(0)
            await expect(page.locator("#would-command")).to_have_count(0)
            if label == "desktop":
                await expect(page.locator("#command-check")).to_have_text("does what it was told")
                await fox_app_writes(live.simulator.port, 41000, 1)
                await run_for(live, 300)
            check = page.locator("#command-check")
            await expect(check).to_have_attribute("data-state", "warn")
            await expect(check).to_contain_text(
                "not doing what it was told: work mode (41000) is Feed-in First (1)"
            )
            await expect(page.locator("#health-reasons")).to_contain_text("changed by someone else")
            await expect(page.locator("#health")).to_have_text("degraded")  # the top bar's too
            await page.screenshot(
                path=str(SHOTS / f"disobeyed-overview-{label}.png"), full_page=True
            )
            assert watched.problems == [], watched.problems
