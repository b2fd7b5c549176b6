"""The Settings page in words: every field labelled by its schema's title (units in brackets),
its description as help, every fraction (SOC, efficiency, probability) shown and typed as a
percent while site.yaml keeps the fraction; and the Loads page saying, as Settings does,
that an edit there applies at once.

The schema test needs no browser; the rest drive the demo (the real service on virtual
time) in Debian's Chromium at a phone's and a desktop's width.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from flowengine.yamlsource import parse_file
from powermaster.config import SITE_SCHEMA, TITLES
from tests.ui.browser import PHONE, chromium, needs_chromium, playwright_api, sign_in, watched_page
from tests.ui.demo import ARTIFACTS, PASSWORD, DemoSite, demo_site

expect = playwright_api.expect
DESKTOP = {"width": 1366, "height": 768}
VIEWPORTS = {"phone": PHONE, "desktop": DESKTOP}
SHOTS = ARTIFACTS / "screenshots"


def fields(
    schema: dict[str, Any], path: tuple[str, ...] = ()
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every field of the site schema by its path (``*`` a mapping's key, ``[]`` a list's
    item); the branches of an ``anyOf`` are their field's, not fields of their own."""
    for key, child in (schema.get("properties") or {}).items():
        yield ".".join((*path, key)), child
        yield from fields(child, (*path, key))
    for key, step in (("items", "[]"), ("additionalProperties", "*")):
        if isinstance(schema.get(key), dict):
            yield from fields(schema[key], (*path, step))
    for choice in schema.get("anyOf") or schema.get("oneOf") or []:
        yield from fields(choice, path)


def is_fraction(schema: dict[str, Any]) -> bool:
    """As ui/static/settings.js decides it: a number bounded within 0..1."""
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    return (
        schema.get("type") == "number"
        and isinstance(low, int | float)
        and isinstance(high, int | float)
        and low >= 0
        and high <= 1
    )


def test_every_site_setting_has_a_short_title_and_no_title_is_left_over() -> None:
    found = dict(fields(SITE_SCHEMA))
    untitled = [path for path, schema in found.items() if not schema.get("title")]
    assert untitled == []
    assert sorted(set(TITLES) - set(found)) == []  # a title for a field that is gone
    long = [title for title in TITLES.values() if len(title) > 32]
    assert long == []
    assert found["battery.soc_min"]["title"] == "Minimum SOC"
    assert found["battery.capacity_kwh"]["title"] == "Capacity (kWh)"
    assert SITE_SCHEMA["properties"]["bom"]["title"] == "Bureau of Meteorology"


def test_the_fractions_are_the_soc_and_share_fields() -> None:
    """The fields the page shows as a percent, found by their schema; a new field bounded
    in 0..1 that is not a fraction would show up here."""
    percent = sorted(path for path, schema in fields(SITE_SCHEMA) if is_fraction(schema))
    assert percent == [
        "battery.charge_efficiency",
        "battery.discharge_efficiency",
        "battery.soc_max",
        "battery.soc_min",
        "control.critical_soc",
        "control.degraded_soc_margin",
        "control.soc_hysteresis",
        "control.soc_margin",
        "flexible_loads.*.assumed_soc",
        "flexible_loads.*.efficiency",
        "flexible_loads.*.target.soc",
        "planner.soc_targets.[].soc",
        "planner.soft_soc_max",
        "planner.soft_soc_min",
        "simulator.soc_initial",
        "storm.arm_probability",
        "storm.disarm_probability",
        "storm.reserve_soc",
    ]
    titles = dict(fields(SITE_SCHEMA))
    assert [p for p in percent if "(" in titles[p]["title"]] == []  # the page shows the %


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[DemoSite]:
    async with demo_site(tmp_path) as running:
        await running.tick(300)
        yield running


def value_at(data: dict[str, Any], path: str) -> Any:
    for key in path.split("."):
        data = data.get(key, {}) if isinstance(data, dict) else {}
    return data if data != {} else None


@needs_chromium
@pytest.mark.parametrize("width", sorted(VIEWPORTS))
async def test_settings_speak_in_titles_and_percents_and_save_fractions(
    site: DemoSite, width: str
) -> None:
    async with chromium() as browser:
        watched = await watched_page(browser, site.url, VIEWPORTS[width])
        await sign_in(watched, PASSWORD, "/settings")
        page = watched.page
        await page.goto(f"{site.url}/settings#battery")
        battery = page.locator("#section-battery")
        await expect(battery.locator("summary .settings-title")).to_have_text("Battery")
        soc_min = page.locator('[name="battery.soc_min"]')
        await expect(soc_min).to_be_visible()
        label = page.locator('label[for="f-battery-soc_min"]')
        await expect(label).to_have_text("Minimum SOC")
        await expect(page.locator('label[for="f-battery-capacity_kwh"]')).to_have_text(
            "Capacity (kWh)"
        )
        # Each field's own words: its description as help, the key site.yaml names it by.
        field = page.locator('[data-field="battery.soc_min"]')
        await expect(field.locator(".help")).to_contain_text("never take the battery below")
        await expect(field.locator(".unit")).to_have_text("%")
        await expect(field.locator("code.key")).to_have_text("battery.soc_min: 0.1")
        fraction = site.service.settings["battery"]["soc_min"]
        assert float(await soc_min.input_value()) == pytest.approx(fraction * 100)
        SHOTS.mkdir(parents=True, exist_ok=True)
        await battery.screenshot(path=str(SHOTS / f"settings-battery-{width}.png"))
        # Every field's label is its schema's title; none is a key name.
        titles = {path: schema["title"] for path, schema in fields(SITE_SCHEMA)}
        shown = await page.locator(".settings-field[data-field]").evaluate_all(
            "fs => fs.map(f => [f.dataset.field, f.querySelector(':scope > label').textContent])"
        )
        assert len(shown) > 100
        assert [
            (path, text) for path, text in shown if path in titles and text != titles[path]
        ] == []
        headings = await page.locator(
            ".settings-group > legend, summary .settings-title"
        ).all_text_contents()
        assert [text for text in [*headings, *(t for _, t in shown)] if "_" in text] == []
        # Every fraction in the form is a percent of what the config holds (or defaults to).
        for section in ("battery", "planner", "control", "storm", "simulator"):
            await page.locator(f"#section-{section}").evaluate("d => d.open = true")
        for path, schema in fields(SITE_SCHEMA):
            if not is_fraction(schema) or "*" in path or "[]" in path:
                continue
            box = page.locator(f'[name="{path}"]')
            assert await box.get_attribute("data-fraction") == "", path
            held = value_at(site.service.settings, path)
            shown = await box.input_value()
            assert (shown == "") if held is None else float(shown) == pytest.approx(held * 100)
        # 25 % is saved as 0.25, in the running settings and in site.yaml.
        await page.goto(f"{site.url}/settings#battery")
        await soc_min.fill("25")
        await page.locator("#settings-save").click()
        await expect(page.locator("#settings-status")).to_contain_text("Saved and applied")
        assert site.service.settings["battery"]["soc_min"] == 0.25
        assert parse_file(site.config).data["battery"]["soc_min"] == 0.25  # a fraction
        await expect(soc_min).to_have_value("25")  # shown again from what was saved
        await expect(field.locator("code.key")).to_have_text("battery.soc_min: 0.25")
        # A percent out of its range is named in percent beside its field; nothing is sent.
        await soc_min.fill("150")
        await page.locator("#settings-save").click()
        problem = page.locator('.problem[data-for="battery.soc_min"]')
        await expect(problem).to_have_text("must be a percent from 0 % to 100 %")
        assert site.service.settings["battery"]["soc_min"] == 0.25
        assert watched.problems == [], watched.problems
    assert site.leaks() == []


@needs_chromium
async def test_the_loads_page_says_what_settings_do(site: DemoSite) -> None:
    """Loads edited on Settings apply live (apply_settings restarts the flows on them in
    this process): the Loads page says so, and links there, instead of "restart"."""
    async with chromium() as browser:
        watched = await watched_page(browser, site.url, PHONE)
        await sign_in(watched, PASSWORD, "/loads")
        page = watched.page
        await expect(page.locator("#loads .empty")).to_contain_text("No controllable loads")
        text = await page.locator("main").inner_text()
        assert "without a restart" in text
        assert "restart" not in text.replace("without a restart", "")
        await page.locator("#loads .empty a", has_text="Loads").click()
        await expect(page).to_have_url(re.compile(r"/settings#loads$"))
        loads = page.locator("#section-loads")
        await expect(loads).to_have_attribute("open", "")
        await expect(loads.locator("summary .settings-title")).to_have_text("Loads")
        await expect(page.locator(".settings-head")).to_contain_text("without a restart")
        assert watched.problems == [], watched.problems
