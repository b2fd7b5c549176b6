"""Debian's Chromium driven by Playwright: a page that records its console errors, every
response body it reads, and anything it asks of another origin."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
#: As the machine's own probe starts it: headless, and no calls home.
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}

playwright_api = pytest.importorskip("playwright.async_api", reason="playwright is not installed")
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)"
)


@dataclass
class Watched:
    """A page and what it did: errors in its console, its requests, the bodies it read."""

    page: Any
    origin: str
    problems: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    bodies: list[str] = field(default_factory=list)

    def foreign(self) -> list[str]:
        return [url for url in self.requests if not url.startswith((self.origin + "/", "data:"))]


@asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def watched_page(
    browser: Any, origin: str, viewport: dict[str, int], **context_options: Any
) -> Watched:
    """A new page in a context of its own (its own cookies) that records what it does;
    ``context_options`` go to Playwright's ``new_context`` (``timezone_id``, ``locale``)."""
    context = await browser.new_context(viewport=viewport, **context_options)
    page = await context.new_page()
    watched = Watched(page, origin)
    page.on("pageerror", lambda error: watched.problems.append(f"page error: {error}"))
    page.on(
        "console",
        lambda m: watched.problems.extend([f"console: {m.text}"] if m.type == "error" else []),
    )
    page.on("request", lambda request: watched.requests.append(request.url))

    async def keep(response: Any) -> None:
        kind = response.headers.get("content-type", "")
        if "event-stream" in kind or not kind.startswith(("text/", "application/json")):
            return
        try:
            watched.bodies.append(await response.text())
        except Exception:  # a body gone with a navigation: nothing to search
            return

    page.on("response", keep)
    return watched


async def sign_in(watched: Watched, password: str, then: str = "/") -> None:
    page = watched.page
    await page.goto(f"{watched.origin}/login?next={then}")
    await page.fill("#password", password)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(lambda url: "/login" not in url)
