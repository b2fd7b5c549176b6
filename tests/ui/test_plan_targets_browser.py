"""SOC targets on the Plan page: what was asked, what the plan reaches, at phone and
desktop width, in Debian's Chromium against the demo on virtual time."""

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

TARGETS = """planner:
  soc_targets:
    - {soc: 0.6, by: "17:00", name: evening}
    - {soc: 1.0, by: "23:00", hard: true}
"""


def with_targets(site_yaml: str) -> str:
    assert site_yaml.count("\nplanner:\n") == 1
    return site_yaml.replace("\nplanner:\n", "\n" + TARGETS, 1)


async def test_the_plan_page_shows_each_target_and_whether_it_is_met(tmp_path: Path) -> None:
    async with demo_site(tmp_path, edit=with_targets) as site:
        await site.tick(900)
        plan = site.service.engine.context.get("global", "plan")
        assert [t["soc"] for t in plan["targets"]][:2] == [0.6, 0.98]  # 100% clamped to the top
        shots = ARTIFACTS / "screenshots"
        shots.mkdir(parents=True, exist_ok=True)
        async with chromium() as browser:
            for label, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
                watched = await watched_page(browser, site.url, viewport)
                await sign_in(watched, PASSWORD, "/plan")
                targets = watched.page.locator("#plan-targets")
                await expect(targets).to_contain_text("evening: 60 % by Thu 15 Jan 17:00 (soft")
                await expect(targets).to_contain_text("(asked 100 %, above the battery's top)")
                await expect(targets).to_contain_text("hard")
                await expect(targets).to_contain_text("planned")
                await watched.page.screenshot(path=str(shots / f"plan-targets-{label}.png"))
