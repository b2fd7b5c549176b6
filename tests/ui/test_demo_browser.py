"""The running demo in a real browser (Debian's Chromium, driven by Playwright).

The real service on virtual time with the simulated inverter: every page loads at a
phone's and a desktop's width with no console errors and nothing from elsewhere
(screenshots saved in test-artifacts/screenshots), the flows page shows a node's
count move after a tick and opens a run's trace, writes without a session or its
CSRF token are refused, and no secret shows in any page, API answer or log line.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

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
from tests.ui.demo import ARTIFACTS, PASSWORD, DemoSite, demo_site
from ui.pages import NAV

pytestmark = needs_chromium
expect = playwright_api.expect
#: The JSON the pages read; each is searched for secrets too.
APIS = (
    "/api/state",
    "/api/health",
    "/api/flows",
    "/api/override",
    "/api/loads",
    "/api/billing",
    "/api/ledger",
    "/api/settings",
    "/api/plan",
    "/api/events?probe=0",
)


@asynccontextmanager
async def browsing(site: DemoSite, viewport: dict[str, int], then: str) -> AsyncIterator[Watched]:
    """The owner signed in on a page of the demo at ``then``; what the page read is
    searched for secrets afterwards (``site.leaks``)."""
    async with chromium() as browser:
        watched = await watched_page(browser, site.url, viewport)
        await sign_in(watched, PASSWORD, then)
        yield watched
        site.seen.extend(watched.bodies)


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[DemoSite]:
    async with demo_site(tmp_path) as running:
        await running.tick(900)  # a few ticks: telemetry, a plan, the ledger started
        yield running


async def test_every_page_loads_at_phone_and_desktop_width(site: DemoSite) -> None:
    shots = ARTIFACTS / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    async with chromium() as browser:
        for label, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
            watched = await watched_page(browser, site.url, viewport)
            await sign_in(watched, PASSWORD)
            for path, title in NAV:
                response = await watched.page.goto(f"{site.url}{path}")
                assert response is not None and response.status == 200, path
                await expect(watched.page).to_have_title(f"{title} · Power Master")
                await expect(watched.page.locator("body")).to_have_attribute("data-live", "1")
                await watched.page.wait_for_load_state("load")
                await watched.page.screenshot(
                    path=str(shots / f"{path.strip('/')}-{label}.png"), full_page=True
                )
            assert watched.problems == [], watched.problems
            assert watched.foreign() == []
            site.seen.extend(watched.bodies)
    assert site.leaks() == []


async def test_the_flow_view_moves_after_a_tick_and_a_trace_opens(site: DemoSite) -> None:
    async with browsing(site, DESKTOP, "/flows") as watched:
        page = watched.page
        await page.goto(f"{site.url}/flows")
        control = page.locator('section.flow[data-flow="control"]')
        read = control.locator('g.node[data-node="read"]')
        await expect(read.locator(".count")).not_to_have_text("")
        before = int(await read.locator(".count").text_content() or "0")
        await site.tick()
        await expect(read.locator(".count")).to_have_text(str(before + 1))
        await expect(read).to_have_attribute("data-state", "ok")
        await read.click()  # its type, masked config and last messages
        panel = page.locator("#panel")
        await expect(panel).to_contain_text("foxess.read")
        await expect(panel.locator("#node-messages details.message").first).to_be_visible()
        await expect(panel.locator("#node-messages")).to_contain_text("soc")
        await control.locator("details.runs summary").click()
        await control.locator("button.run-item").first.click()
        panel = page.locator("#panel")
        await expect(panel).to_be_visible()
        await expect(panel.locator(".timeline tbody tr").first).to_be_visible()
        await expect(panel.locator(".timeline")).to_contain_text("read")
        assert watched.problems == []
    assert site.leaks() == []


async def test_writes_without_a_session_or_its_token_are_refused(site: DemoSite) -> None:
    body = {"mode": "force_charge", "power_w": 2000, "duration": "1h"}
    async with chromium() as browser:
        stranger = await browser.new_context()
        answer = await stranger.request.post(f"{site.url}/api/override", data=body)
        assert answer.status == 401
        owner = await watched_page(browser, site.url, DESKTOP)
        await sign_in(owner, PASSWORD)
        request = owner.page.context.request
        answer = await request.post(f"{site.url}/api/override", data=body)
        assert answer.status == 403  # signed in, but no CSRF token
        answer = await request.post(f"{site.url}/api/flows/control/trigger", data={})
        assert answer.status == 403
        assert site.service.override() is None
        token = await owner.page.locator('meta[name="csrf-token"]').get_attribute("content")
        answer = await request.post(
            f"{site.url}/api/override", data=body, headers={"X-CSRF-Token": token or ""}
        )
        assert answer.status == 200
        assert site.service.override() is not None


async def test_no_secret_in_any_api_answer_or_log(site: DemoSite) -> None:
    async with chromium() as browser:
        owner = await watched_page(browser, site.url, DESKTOP)
        await sign_in(owner, PASSWORD)
        for path in APIS:
            if path.startswith("/api/events"):
                continue  # a stream: its events are searched through the pages' tests
            answer = await owner.page.context.request.get(f"{site.url}{path}")
            site.seen.append(await answer.text())
        for flow in site.service.engine.flows:
            answer = await owner.page.context.request.get(f"{site.url}/api/flows/{flow}/runs")
            site.seen.append(await answer.text())
    assert site.leaks() == []
    assert any("amber" in text for text in site.seen)  # the settings were read, masked


async def test_the_overview_updates_over_the_live_stream(site: DemoSite) -> None:
    async with browsing(site, PHONE, "/overview") as watched:
        page = watched.page
        await page.goto(f"{site.url}/overview")
        body = page.locator("body")
        await expect(body).to_have_attribute("data-live", "1")
        await expect(page.locator("#soc")).to_have_attribute("data-value", re.compile(r"\d"))
        before = int(await body.get_attribute("data-updated") or "0")
        soc_before = await page.locator("#soc").get_attribute("data-value")
        await site.tick(1800)  # half an hour of ticks, each pushed as a state event
        await expect(body).not_to_have_attribute("data-updated", str(before))
        state = site.service.state()
        # Half an hour of ticks queues many events; on a loaded machine the page takes
        # longer than expect's 5 s to work through them to the last one.
        await expect(page.locator("#soc")).to_have_attribute(
            "data-value", str(state["soc"]), timeout=20_000
        )
        await expect(page.locator("#mode")).to_have_attribute("data-value", state["mode"])
        assert soc_before is not None
        await expect(page.locator("#chart-power svg .pm-line")).not_to_have_count(0)
        await expect(page.locator("#chart-power svg .pm-ahead")).to_have_count(1)
        assert watched.problems == []
    assert site.leaks() == []


async def test_a_settings_change_is_applied_live(site: DemoSite) -> None:
    async with browsing(site, DESKTOP, "/settings") as watched:
        page = watched.page
        await page.goto(f"{site.url}/settings#planner")
        field = page.locator('[name="planner.break_even_delta"]')
        await expect(field).to_be_visible()
        await field.fill("0.035")
        secret = page.locator('[name="amber.api_key"]')
        assert await secret.input_value() == ""  # write-only: never sent to the page
        await page.locator("#settings-save").click()
        await expect(page.locator("#settings-status")).to_contain_text("Saved and applied")
        assert site.service.settings["planner"]["break_even_delta"] == 0.035
        assert "break_even_delta: 0.035" in site.config.read_text()
        assert "!secret amber_api_key" in site.config.read_text()  # the secret kept as it was
        runs = len(site.service.engine.traces.recent("control", 50))
        await site.tick()
        assert len(site.service.engine.traces.recent("control", 50)) > runs  # ticking again
        # A value outside its limits is refused beside its field; nothing changes. (SOC is
        # a percent on the page: 100 % is 1.0, not below soc_max, which the server refuses.)
        await page.goto(f"{site.url}/settings#battery")
        await page.locator('[name="battery.soc_min"]').fill("100")
        await page.locator("#settings-save").click()
        await expect(page.locator('.problem[data-for="battery.soc_min"]')).to_be_visible()
        assert site.service.settings["battery"]["soc_min"] == 0.10
        # The browser logs the refusal's 422 itself; nothing else may be in the console.
        assert [p for p in watched.problems if "status of 422" not in p] == []
    assert site.leaks() == []


async def test_a_fresh_start_before_any_tick_shows_every_page_without_an_error(
    tmp_path: Path,
) -> None:
    """A first start: no ledger, no plan, no savings to compare yet; pages say so rather
    than fail (the accounting page once threw on a cycle with no counterfactual)."""
    async with demo_site(tmp_path) as fresh, chromium() as browser:
        watched = await watched_page(browser, fresh.url, DESKTOP)
        await sign_in(watched, PASSWORD)
        for path, title in NAV:
            await watched.page.goto(f"{fresh.url}{path}")
            await expect(watched.page).to_have_title(f"{title} · Power Master")
            await watched.page.wait_for_load_state("load")
        await watched.page.goto(f"{fresh.url}/accounting")
        await expect(watched.page.locator("#saved-vs-no-battery")).not_to_have_text("")
        assert watched.problems == [], watched.problems


async def test_times_are_the_sites_whatever_zone_and_language_the_browser_has(
    site: DemoSite,
) -> None:
    """A browser in New York, in US English, sees Brisbane's times, 24 h, on the flows
    page (runs) and the Overview alike: the demo starts 06:00 on Thursday 15 January."""
    brisbane = re.compile(r"Thu 15 Jan 06:[0-5]\d")
    async with chromium() as browser:
        watched = await watched_page(
            browser, site.url, DESKTOP, timezone_id="America/New_York", locale="en-US"
        )
        await sign_in(watched, PASSWORD, "/overview")
        page = watched.page
        await expect(page.locator("#state-time")).to_have_text(brisbane)
        await page.goto(f"{site.url}/flows")
        control = page.locator('section.flow[data-flow="control"]')
        await control.locator("details.runs summary").click()
        first_run = control.locator("button.run-item").first
        await expect(first_run).to_contain_text(brisbane)
        assert "PM" not in (await first_run.text_content() or "")
        assert watched.problems == [], watched.problems
