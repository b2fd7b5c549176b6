"""Every page laid out to be read, at a phone's width (390x844) and a desktop's (1366x768),
in the light theme and the dark (set with the Theme button, data-theme on <html>).

Not tests/ui/test_layout.py, which is the server's graph layout (ui/layout.py): this is
what the browser draws. On every page: no sideways page scroll, and every link of the
menu on screen and the thing under its centre (nothing covers it), each page reached by
clicking its link. On the Flows page no node's name runs into its message count, and at
the desktop's width no flow scrolls inside its card (a long one folds into bands). In
every chart (Overview, Graphs) no axis title touches a tick label. A screenshot of every
page at each width and theme goes to test-artifacts/screenshots/<page>-<width>-<theme>.png.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.ui.browser import chromium, needs_chromium, playwright_api, sign_in, watched_page
from tests.ui.demo import ARTIFACTS, PASSWORD, DemoSite, demo_site
from ui.pages import NAV

pytestmark = needs_chromium
expect = playwright_api.expect
SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1366, "height": 768}}
THEMES = ("light", "dark")
SHOTS = ARTIFACTS / "screenshots"
#: What each page shows once it has read its data (before it is measured and pictured).
READY = {
    "/overview": "#chart-power .pm-chart-svg .pm-unit",
    "/flows": "section.flow g.node .count",
    "/plan": "#plan-table tbody tr.day",
    "/graphs": ".pm-chart-svg .pm-tick",
    "/accounting": "#saved-vs-no-battery",
    "/loads": "#loads .empty, #loads .load",
    "/settings": "#section-battery",
}

#: The menu's links: where each is, and whether a click at its centre lands on it.
MENU = """() => [...document.querySelectorAll('nav[aria-label="pages"] a')].map((a) => {
  const r = a.getBoundingClientRect();
  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  return { href: a.getAttribute("href"), left: r.left, right: r.right, top: r.top,
           bottom: r.bottom, hit: a.contains(hit) };
})"""

#: Flow nodes whose name's box reaches into their count's box.
NAMES_ON_COUNTS = """() => [...document.querySelectorAll("section.flow g.node[data-node]")]
  .filter((g) => {
    const name = g.querySelector(".id").getBBox(), count = g.querySelector(".count").getBBox();
    return name.width > 0 && count.width > 0 && name.x + name.width > count.x - 2;
  }).map((g) => `${g.closest("section").dataset.flow}/${g.dataset.node}`)"""

#: Flow graphs that scroll inside their card.
SCROLLING_FLOWS = """() => [...document.querySelectorAll("section.flow .graph")]
  .filter((box) => box.scrollWidth > box.clientWidth)
  .map((box) => `${box.closest("section").dataset.flow}: ${box.scrollWidth} > ${box.clientWidth}`)
"""

#: Axis titles (units) that meet a tick label or leave their chart, in every chart.
TITLES_ON_TICKS = """() => {
  const meet = (a, b) => a.left < b.right && b.left < a.right
    && a.top < b.bottom && b.top < a.bottom;
  const out = [];
  for (const chart of document.querySelectorAll("svg.pm-chart-svg")) {
    const frame = chart.getBoundingClientRect();
    for (const title of chart.querySelectorAll(".pm-unit")) {
      const box = title.getBoundingClientRect();
      if (!box.width) continue;
      if (box.left < frame.left || box.right > frame.right || box.top < frame.top) {
        out.push(`${title.textContent} leaves its chart`);
      }
      for (const tick of chart.querySelectorAll(".pm-tick")) {
        const at = tick.getBoundingClientRect();
        if (meet(box, at)) out.push(`${title.textContent} on ${tick.textContent}`);
      }
    }
  }
  return out;
}"""

#: Two frames: what a ResizeObserver or requestAnimationFrame queued has been drawn.
DRAWN = "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[DemoSite]:
    async with demo_site(tmp_path) as running:
        await running.tick(900)  # telemetry, a plan, the ledger started: charts to draw
        yield running


async def choose_theme(page: Any, theme: str) -> None:
    """Click the Theme button (auto, light, dark, ...) until the page is in ``theme``."""
    button = page.locator("#theme")
    for _ in range(3):
        if await page.locator("html").get_attribute("data-theme") == theme:
            break
        await button.click()
    await expect(page.locator("html")).to_have_attribute("data-theme", theme)
    await expect(button).to_have_text(f"Theme: {theme}")


@pytest.mark.parametrize("size", sorted(SIZES))
async def test_every_page_fits_its_width_in_both_themes(site: DemoSite, size: str) -> None:
    viewport = SIZES[size]
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with chromium() as browser:
        for theme in THEMES:
            watched = await watched_page(browser, site.url, viewport)
            await sign_in(watched, PASSWORD, "/overview")
            page = watched.page
            await choose_theme(page, theme)
            for path, title in NAV:
                # Reached by its link in the menu, from the page before.
                await page.locator(f'nav[aria-label="pages"] a[href="{path}"]').click()
                await expect(page).to_have_title(f"{title} · Power Master")
                await expect(page.locator("html")).to_have_attribute("data-theme", theme)
                await expect(page.locator(READY[path]).first).to_be_attached()
                await expect(page.locator("body")).to_have_attribute("data-live", "1")
                await page.evaluate(DRAWN)
                where = f"{path} at {size}, {theme}"
                width = await page.evaluate("document.scrollingElement.clientWidth")
                scroll = await page.evaluate("document.scrollingElement.scrollWidth")
                assert scroll <= width, f"{where}: the page scrolls sideways ({scroll} > {width})"
                links = await page.evaluate(MENU)
                assert [link["href"] for link in links] == [p for p, _ in NAV]
                for link in links:
                    assert link["left"] >= 0 and link["right"] <= width, (where, link)
                    assert link["top"] >= 0 and link["bottom"] <= viewport["height"], (where, link)
                    assert link["hit"], f"{where}: something covers the link to {link['href']}"
                if path == "/flows":
                    assert await page.evaluate(NAMES_ON_COUNTS) == [], where
                    if size == "desktop":
                        assert await page.evaluate(SCROLLING_FLOWS) == [], where
                if path in ("/overview", "/graphs"):
                    await expect(page.locator("svg.pm-chart-svg .pm-unit").first).to_be_attached()
                    assert await page.evaluate(TITLES_ON_TICKS) == [], where
                name = path.strip("/")
                await page.screenshot(
                    path=str(SHOTS / f"{name}-{size}-{theme}.png"), full_page=True
                )
            assert watched.problems == [], watched.problems
            assert watched.foreign() == []
            await page.context.close()
    assert site.leaks() == []


async def test_a_long_flow_folds_into_bands_and_back_as_its_card_narrows_and_widens(
    site: DemoSite,
) -> None:
    """The plan flow is a long chain: at a desktop's width it is folded into bands (no
    scrolling inside its card), each wire still one path; wider, it is one row again."""
    async with chromium() as browser:
        watched = await watched_page(browser, site.url, SIZES["desktop"])
        await sign_in(watched, PASSWORD, "/flows")
        page = watched.page
        plan = page.locator('section.flow[data-flow="plan"]')
        await expect(plan.locator("g.node").first).to_be_attached()
        await page.evaluate(DRAWN)
        graph = plan.locator(".graph svg")
        bands = int(await graph.get_attribute("data-bands") or "0")
        assert bands >= 2
        wires = await page.evaluate("""async () => (await (await fetch("/api/flows")).json())
            .find((flow) => flow.id === "plan").wires.length""")
        paths = await plan.locator("path.wire").count()
        assert paths == wires > 0
        assert await page.evaluate(SCROLLING_FLOWS) == []
        await page.set_viewport_size({"width": 3000, "height": 768})
        await expect(graph).to_have_attribute("data-bands", "1")
        assert await plan.locator("path.wire").count() == paths
        await page.set_viewport_size({"width": 1366, "height": 768})
        await expect(graph).to_have_attribute("data-bands", re.compile(r"[2-9]"))
        assert await page.evaluate(NAMES_ON_COUNTS) == []
        assert watched.problems == [], watched.problems
