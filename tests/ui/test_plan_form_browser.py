"""The Plan page's form for a one-off SOC target, the targets and overrides set by hand
with their Cancel buttons, and the demand charge line, in Debian's Chromium against the
demo on virtual time (2026-01-15 06:00 in Brisbane)."""

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
from tests.ui.demo import ARTIFACTS, PASSWORD, DemoSite, demo_site

pytestmark = needs_chromium
expect = playwright_api.expect

DEMAND = """planner:
  demand_charges:
    - {name: peak, price_per_kw: 0.5, from: "16:00", to: "21:00", peak_so_far_kw: 1.5}
"""


def with_demand(site_yaml: str) -> str:
    assert site_yaml.count("\nplanner:\n") == 1
    return site_yaml.replace("\nplanner:\n", "\n" + DEMAND, 1)


def one_offs(site: DemoSite) -> list[dict[str, object]]:
    return list(site.service.engine.context.get("global", "soc_targets") or [])


async def test_a_target_is_added_refused_when_past_and_cancelled_from_the_plan_page(
    tmp_path: Path,
) -> None:
    async with demo_site(tmp_path, edit=with_demand) as site:
        await site.tick(900)
        shots = ARTIFACTS / "screenshots"
        shots.mkdir(parents=True, exist_ok=True)
        async with chromium() as browser:
            for label, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
                watched = await watched_page(browser, site.url, viewport)
                page = watched.page
                await sign_in(watched, PASSWORD, "/plan")
                asks = page.locator("#plan-asks > summary")
                await expect(asks).to_contain_text("(0 SOC targets, 0 overrides set ahead)")
                await asks.click()  # folded away by default: the slots come first
                await expect(page.locator("#one-offs")).to_contain_text("None: add one below")
                demand = page.locator("#plan-demand")
                await expect(demand).to_contain_text("peak: $0.50/kW; planned peak")
                await expect(demand).to_contain_text("peak so far 1.50 kW (as configured)")

                # A time already past today is refused, and says why at its field.
                await page.fill("#target-soc", "90")
                await page.fill("#target-by", "05:00")
                await page.get_by_role("button", name="Add target").click()
                problem = page.locator("#target-problem")
                await expect(problem).to_contain_text("by: Thu 15 Jan 2026 05:00 AEST is past")
                assert one_offs(site) == []

                await page.fill("#target-by", "10:00")
                await page.check("#target-hard")
                await page.get_by_role("button", name="Add target").click()
                listed = page.locator("#one-offs li")
                await expect(listed).to_have_count(1)
                await expect(listed).to_contain_text(
                    "90 % by Thu 15 Jan 10:00 (hard; set from this page)"
                )
                await expect(problem).to_be_hidden()
                # The plan flow plans again on the change: the plan carries the target.
                targets = page.locator("#plan-targets")
                await expect(targets).to_contain_text("90 % by Thu 15 Jan 10:00 (hard)")
                [stored] = one_offs(site)
                assert stored["source"] == "ui" and stored["hard"] is True
                await page.locator("#plan-asks").scroll_into_view_if_needed()
                await page.screenshot(path=str(shots / f"plan-form-{label}.png"))

                await listed.get_by_role("button", name="Cancel").click()
                await expect(page.locator("#one-offs")).to_contain_text("None: add one below")
                await expect(targets).to_contain_text("none (planner.soc_targets)")
                assert one_offs(site) == []
                # The refusal's 422 is the browser's only complaint: nothing else went wrong.
                refused = "the server responded with a status of 422"
                assert [p for p in watched.problems if refused not in p] == [], watched.problems
                assert len(watched.problems) == 1
                assert watched.foreign() == []
                await page.context.close()


async def test_an_override_set_ahead_is_listed_held_in_the_slots_and_cancelled(
    tmp_path: Path,
) -> None:
    async with demo_site(tmp_path) as site:
        await site.tick(900)
        stored = site.service.set_override(
            "force_charge", 3000, None, start="2026-01-15T13:00", until="2026-01-15T14:00"
        )
        await site.service.engine.settle()
        async with chromium() as browser:
            watched = await watched_page(browser, site.url, DESKTOP)
            page = watched.page
            await sign_in(watched, PASSWORD, "/plan")
            await expect(page.locator("#asks-count")).to_contain_text("1 override set ahead")
            await page.locator("#plan-asks > summary").click()
            listed = page.locator("#planned-overrides li")
            await expect(listed).to_have_count(1)
            await expect(listed).to_contain_text(
                "Charge 3.0 kW Thu 15 Jan 13:00 to Thu 15 Jan 14:00"
            )
            held = page.locator("#plan-table tr.held")
            await expect(held).to_have_count(2)  # 13:00 and 13:30
            await expect(held.first).to_contain_text("override set ahead (from Thu 13:00)")
            await listed.get_by_role("button", name="Cancel").click()
            await expect(page.locator("#planned-overrides")).to_contain_text("None")
            await expect(page.locator("#plan-table tr.held")).to_have_count(0)  # re-planned
            assert site.service.planned_overrides() == []
            assert stored["id"]
            assert watched.problems == [], watched.problems
