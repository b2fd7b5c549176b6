"""The Flows page draws which flow feeds which through context keys, labels a switch's
ports, and shows a core.debug message the moment it passes; in Debian's Chromium."""

from __future__ import annotations

from pathlib import Path

from tests.ui.browser import PHONE, chromium, needs_chromium, playwright_api, sign_in, watched_page
from tests.ui.conftest import FLOWS, PASSWORD, running_ui

pytestmark = needs_chromium

CONTEXT_FLOWS = (
    FLOWS
    + """
---
flow: meter
description: Stores a reading in global.reading.
nodes:
  - {id: remember, type: core.context_set, config: {key: global.reading}}
---
flow: watcher
description: Reads global.reading when it changes, routes it and shows it.
triggers: [{type: context, key: global.reading}]
nodes:
  - id: route
    type: core.switch
    config:
      property: payload.value.watts
      rules: [{port: high, above: 1000}]
    wires: {high: [look], otherwise: [look]}
  - {id: look, type: core.debug, config: {show: "payload.value"}}
---
flow: outsider
context: {global.override: the web API}
triggers: [{type: context, key: global.override}]
nodes:
  - {id: seen, type: test.collect}
"""
)


async def test_context_edges_port_labels_and_a_debug_message_live(
    free_port: int, tmp_path: Path
) -> None:
    shots = tmp_path  # screenshots at phone and desktop width, to look at by hand
    expect = playwright_api.expect
    async with running_ui(free_port, flows=CONTEXT_FLOWS) as ui, chromium() as browser:
        if True:  # one block, as the other browser tests
            watched = await watched_page(browser, ui.url, PHONE)
            page = watched.page
            await sign_in(watched, PASSWORD, then="/flows")
            await page.goto(f"{ui.url}/flows")
            await expect(page.locator("body")).to_have_attribute("data-live", "1")

            edges = page.locator("#context-graph g.context-edge")
            await expect(edges).to_have_count(2)
            meter_to_watcher = page.locator(
                '#context-graph g.context-edge[data-from="meter"][data-to="watcher"]'
            )
            await expect(meter_to_watcher).to_have_attribute("data-keys", "reading")
            outside = page.locator('#context-graph g.context-edge[data-to="outsider"]')
            await expect(outside).to_have_attribute("data-from", "outside the flows")
            rows = page.locator("#context-keys tbody tr")
            await expect(rows).to_have_count(2)
            reading = page.locator('#context-keys tr[data-key="reading"] td')
            await expect(reading).to_have_text(["global.reading", "meter", "watcher"])
            await page.locator('#context-graph g.flow-box[data-flow="meter"]').click()
            await expect(meter_to_watcher).to_have_class("context-edge on")
            await expect(outside).to_have_class("context-edge")  # dimmed: not meter's
            await expect(page.locator('#context-keys tr[data-key="reading"]')).to_have_class("on")
            watcher = page.locator('section.flow[data-flow="watcher"]')
            await expect(watcher.locator("svg text.port")).to_have_text(["high", "otherwise"])

            await expect(page.locator("#debug-list li")).to_have_count(0)
            assert ui.engine.trigger("meter", {"watts": 2400}) is not None
            message = page.locator("#debug-list li").first
            await expect(message).to_contain_text("watcher.look")
            await expect(message.locator("pre")).to_contain_text('"watts": 2400')
            await page.screenshot(path=str(shots / "flows-context-phone.png"), full_page=True)
            await page.set_viewport_size({"width": 1280, "height": 900})
            await watcher.scroll_into_view_if_needed()
            await page.screenshot(path=str(shots / "flows-context-desktop.png"))
            assert watched.problems == []
            assert watched.foreign() == []
