"""A run's trace as people read it, in Debian's Chromium on the running demo.

The decision comes first (level, mode, power, reason, the command sent and verified);
got and gave are folding trees that never break inside a number; epoch seconds show as
the site's time (Brisbane, whatever the browser's zone) with the raw number on hover; a
payload shown once is folded as "same as step N gave" after; and on a phone the trace
needs no sideways scrolling. Screenshots: test-artifacts/screenshots/trace-*.png.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from flowengine import VirtualClock
from powermaster.service import Service
from tests.support.service import running_service
from tests.ui.browser import (
    DESKTOP,
    PHONE,
    Watched,
    chromium,
    needs_chromium,
    playwright_api,
    sign_in,
    watched_page,
)
from tests.ui.demo import ARTIFACTS, PASSWORD, START, DemoSite, demo_site
from ui.auth import write_password

pytestmark = needs_chromium
expect = playwright_api.expect
SHOTS = ARTIFACTS / "screenshots"
SITE_ZONE = ZoneInfo("Australia/Brisbane")  # the demo's site.timezone

#: Text of number-like leaves that a wrap inside would make unreadable.
UNBROKEN = "#panel .j-num, #panel .j-time, #panel .j-key"
#: Those of them that lie on more than one line (a box per line; one line, one top).
BROKEN_COUNT = f"""() => [...document.querySelectorAll({UNBROKEN!r})]
    .filter((el) => new Set([...el.getClientRects()].map((r) => Math.round(r.top))).size > 1)
    .map((el) => el.textContent)"""


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[DemoSite]:
    async with demo_site(tmp_path) as running:
        await running.tick(900)  # a few control ticks, each deciding and commanding
        yield running


def latest_run(service: Service, flow: str) -> dict[str, Any]:
    brief = service.engine.traces.recent(flow, 1)[0]
    trace = service.engine.traces.get(flow, brief["run_id"])
    assert trace is not None
    return trace


def step_of(trace: dict[str, Any], node: str) -> dict[str, Any]:
    return next(step for step in trace["steps"] if step["node"] == node)


def site_time(epoch: float) -> str:
    """How PM.fmt.time shows ``epoch``: "Thu 15 Jan 06:15:00" in the site's zone."""
    at = datetime.fromtimestamp(epoch, SITE_ZONE)
    return f"{at:%a} {at.day} {at:%b %H:%M:%S}"


async def open_latest_trace(watched: Watched, flow: str) -> Any:
    """The newest run of ``flow`` opened in the side panel; the panel."""
    page = watched.page
    await page.goto(f"{watched.origin}/flows")
    section = page.locator(f'section.flow[data-flow="{flow}"]')
    await section.locator("details.runs summary").click()
    await section.locator("button.run-item").first.click()
    panel = page.locator("#panel")
    await expect(panel.locator(".timeline tbody tr").first).to_be_visible()
    return panel


async def test_a_control_trace_reads_decision_first_in_site_time_with_repeats_folded(
    site: DemoSite,
) -> None:
    trace = latest_run(site.service, "control")
    decision = step_of(trace, "decide")["output"]["out"]
    telemetry = step_of(trace, "read")["output"]["out"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with chromium() as browser:
        # A browser in New York still sees Brisbane's times.
        watched = await watched_page(
            browser, site.url, DESKTOP, timezone_id="America/New_York", locale="en-US"
        )
        await sign_in(watched, PASSWORD, "/flows")
        panel = await open_latest_trace(watched, "control")
        await expect(panel.locator("h3")).to_have_text(f"Run {trace['run_id']}")

        # The decision first: right under the run's heading, above the steps.
        summary = panel.locator("#panel-body > header + section.trace-decision")
        await expect(summary).to_be_visible()
        order = await watched.page.evaluate("""() => [...document.getElementById('panel-body')
            .children].map((el) => el.className)""")
        assert order == ["trace-head", "trace-decision", "timeline"], order
        await expect(summary.locator("[data-level]")).to_have_text(decision["level"])
        await expect(summary.locator("[data-mode]")).to_have_text(decision["mode"])
        await expect(summary).to_contain_text(decision["reason"])
        await expect(summary.locator('[data-command="sent"]')).to_contain_text("sent and verified")

        # Epoch seconds as the site's time; the raw number on hover.
        read = panel.locator('tr[data-step="0"]')
        stamp = read.locator("td.payload").nth(1).locator("time.j-time").first
        await expect(stamp).to_have_text(site_time(telemetry["timestamp"]))
        await expect(stamp).to_have_text(re.compile(r"^Thu 15 Jan 06:\d\d:\d\d$"))
        assert float(await stamp.get_attribute("title") or "nan") == telemetry["timestamp"]

        # Deeper levels folded until asked for; the first level open.
        energy = read.locator("xpath=.//details[summary/span[@class='j-key'][.='energy_kwh']]")
        await expect(energy).not_to_have_attribute("open", "")
        await expect(read).to_contain_text("battery_w")
        await energy.locator("summary").click()
        await expect(energy.locator(".j-body")).to_contain_text("grid_import")

        # What step 0 gave is not repeated by the steps that got it next.
        index = next(i for i, step in enumerate(trace["steps"]) if step["source"] == 0)
        then = panel.locator(f'tr[data-step="{index}"] td.payload').first
        folded = then.locator("details.j-same")
        await expect(folded).to_have_text("same as step 0 gave")
        await expect(then.locator(".j-tree")).to_have_count(0)
        await folded.locator("summary").click()  # still there when asked for
        await expect(then.locator(".j-tree")).to_contain_text("soc")

        assert await watched.page.evaluate(BROKEN_COUNT) == []
        await watched.page.screenshot(path=str(SHOTS / "trace-desktop.png"))
        assert watched.problems == [], watched.problems
        assert watched.foreign() == []


async def test_a_plan_trace_names_the_plan_and_counts_what_the_trace_cut(site: DemoSite) -> None:
    plan = step_of(latest_run(site.service, "plan"), "solve")["output"]["out"]
    slots = site.service.engine.context.get("global", "plan")["slots"]
    assert len(slots) > 24  # more than a trace keeps of a list
    async with chromium() as browser:
        watched = await watched_page(browser, site.url, DESKTOP)
        await sign_in(watched, PASSWORD, "/flows")
        panel = await open_latest_trace(watched, "plan")
        summary = panel.locator("section.trace-decision")
        await expect(summary).to_contain_text(f"{plan['status']} ({plan['solver']})")
        await expect(summary).to_contain_text(f"{len(slots)} slots")
        solve = panel.locator("tr", has=watched.page.locator("strong", has_text="solve"))
        counted = solve.locator(".j-count", has_text=f"{len(slots)} items")  # kept + cut
        await expect(counted.first).to_be_visible()
        assert watched.problems == [], watched.problems


async def test_the_trace_fits_a_phone_without_sideways_scrolling(site: DemoSite) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with chromium() as browser:
        watched = await watched_page(browser, site.url, PHONE)
        await sign_in(watched, PASSWORD, "/flows")
        panel = await open_latest_trace(watched, "control")
        await expect(panel.locator("section.trace-decision [data-mode]")).to_be_visible()
        page = watched.page
        widths = await page.evaluate("""() => {
            const doc = document.documentElement, panel = document.getElementById('panel');
            return {page: [doc.scrollWidth, doc.clientWidth],
                    panel: [panel.scrollWidth, panel.clientWidth]};
        }""")
        assert widths["page"][0] <= widths["page"][1], widths
        assert widths["panel"][0] <= widths["panel"][1], widths  # nor inside the sheet
        assert await page.evaluate(BROKEN_COUNT) == []
        await page.screenshot(path=str(SHOTS / "trace-phone.png"))
        assert watched.problems == [], watched.problems


async def test_in_shadow_mode_the_trace_says_what_it_would_command(
    tmp_path: Path, free_port: int
) -> None:
    write_password(tmp_path / "data", PASSWORD)
    async with running_service(tmp_path / "data", free_port, START, shadow=True) as service:
        assert isinstance(service.clock, VirtualClock)
        await service.clock.advance(300)
        await service.engine.settle()
        decision = step_of(latest_run(service, "control"), "decide")["output"]["out"]
        async with chromium() as browser:
            watched = await watched_page(browser, f"http://127.0.0.1:{free_port}", DESKTOP)
            await sign_in(watched, PASSWORD, "/flows")
            panel = await open_latest_trace(watched, "control")
            would = panel.locator('section.trace-decision [data-command="shadow"]')
            await expect(would).to_contain_text(decision["mode"])
            await expect(would).to_contain_text("shadow mode: nothing sent")
            await expect(panel.locator('[data-command="sent"]')).to_have_count(0)
            assert watched.problems == [], watched.problems
