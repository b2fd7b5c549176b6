"""The car on the Loads and Plan pages: what it needs by when, the plan's power for it
slot by slot, and a one-off target set and cancelled from the page, at phone and desktop
width, in Debian's Chromium against the demo on virtual time."""

from __future__ import annotations

from pathlib import Path

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

CAR = """
flexible_loads:
  car:
    name: Car
    adapter: none
    max_w: 7200
    min_w: 1380
    battery_kwh: 60
    window: {from: "18:00", to: "07:30"}
    target: {soc: 0.8, by: "07:30"}
"""


def with_car(site_yaml: str) -> str:
    return site_yaml + CAR


async def test_the_car_its_plan_and_a_one_off_target(tmp_path: Path) -> None:
    async with demo_site(tmp_path, edit=with_car) as site:
        await site.tick(3 * 3600)  # 09:00: this morning's deadline has passed
        engine = site.service.engine
        plan = engine.context.get("global", "plan")
        (car,) = plan["flexible"]
        assert car["needed_kwh"] == 33.333  # 30 % (assumed) to 80 % of 60 kWh at 90 %
        shots = ARTIFACTS / "screenshots"
        shots.mkdir(parents=True, exist_ok=True)
        async with chromium() as browser:
            for label, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
                watched = await watched_page(browser, site.url, viewport)
                page = watched.page
                await sign_in(watched, PASSWORD, "/plan")
                await expect(page.locator("#plan-flexible")).to_contain_text(
                    "Car: 80% from 30% (assumed) by Fri 07:30; planned 33.3 kWh: met"
                )
                await page.screenshot(path=str(shots / f"plan-flexible-{label}.png"))
                await page.goto(f"{site.url}/loads")
                card = page.locator("[data-flexible=car]")
                await expect(card).to_contain_text("Car: 80% from 30% (assumed) by Fri 07:30:")
                await expect(card).to_contain_text("33.3 kWh by Fri 07:30")
                await page.screenshot(
                    path=str(shots / f"loads-flexible-{label}.png"), full_page=True
                )
                if label == "phone":
                    continue
                await card.get_by_label("Car: SOC %").fill("90")
                await card.get_by_label("Car: by").fill("06:00")
                await card.get_by_role("button", name="Set").click()
                await expect(card).to_contain_text("90 % by Fri 06:00 (ui)")
                stored = engine.context.get("global", "flexible_targets")
                assert stored["car"]["soc"] == 0.9 and stored["car"]["source"] == "ui"
                await site.tick(60)
                await expect(card).to_contain_text("Car: 90% from 30% (assumed) by Fri 06:00")
                await card.get_by_role("button", name="Cancel").click()
                await expect(card).to_contain_text("none: the configured target")
