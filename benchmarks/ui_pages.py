"""Each page's weight and time to first render, in Debian's Chromium against the demo.

Starts the real service on the demo site (virtual time, a few ticks in), signs in,
then opens every page cold (a fresh browser context: nothing cached) and prints
what the browser fetched for it (requests, bytes transferred, of which scripts and
styles) and when it painted (first contentful paint, DOMContentLoaded, load, and
when the page's data was drawn: the live stream connected). Figures are the
median of ``--runs`` loads.

    python benchmarks/ui_pages.py [--runs 5] [--width 390]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flowengine import VirtualClock
from flowengine.loop import run as run_loop
from powermaster.service import Options, Service
from ui.auth import write_password
from ui.pages import NAV

CHROMIUM = "/usr/bin/chromium"
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
PASSWORD = "benchmark password"
START = datetime(2026, 1, 14, 20, 0, tzinfo=UTC).timestamp()

MEASURE = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const paint = performance.getEntriesByName("first-contentful-paint")[0];
  const resources = performance.getEntriesByType("resource");
  const size = (e) => e.transferSize || e.encodedBodySize || 0;
  const kind = (e, ext) => e.name.split("?")[0].endsWith(ext);
  return {
    requests: 1 + resources.length,
    bytes: size(nav) + resources.reduce((sum, e) => sum + size(e), 0),
    script_bytes: resources.filter((e) => kind(e, ".js")).reduce((s, e) => s + size(e), 0),
    style_bytes: resources.filter((e) => kind(e, ".css")).reduce((s, e) => s + size(e), 0),
    fcp_ms: paint ? paint.startTime : null,
    dcl_ms: nav.domContentLoadedEventEnd,
    load_ms: nav.loadEventEnd,
  };
}"""


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def measure(runs: int, width: int) -> list[dict[str, Any]]:
    from playwright.async_api import async_playwright

    with tempfile.TemporaryDirectory(prefix="pm-ui-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        write_password(data_dir, PASSWORD)
        port = free_port()
        service = Service(
            Options(data_dir=data_dir, simulator_port=free_port(), port=port, ui=True),
            clock=VirtualClock(START),
        )
        await service.start()
        base = f"http://127.0.0.1:{port}"
        rows: list[dict[str, Any]] = []
        try:
            clock = service.clock
            assert isinstance(clock, VirtualClock)
            await clock.advance(3600)  # an hour of history, a plan, the ledger started
            await service.engine.settle()
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                login = await browser.new_context()
                page = await login.new_page()
                await page.goto(f"{base}/login")
                await page.fill("#password", PASSWORD)
                await page.get_by_role("button", name="Sign in").click()
                await page.wait_for_url(lambda url: "/login" not in url)
                cookies = await login.cookies()
                for path, title in NAV:
                    samples: list[dict[str, Any]] = []
                    for _ in range(runs):
                        context = await browser.new_context(
                            viewport={"width": width, "height": 844}
                        )
                        await context.add_cookies(cookies)  # type: ignore[arg-type]  # Cookie and SetCookieParam: the same keys
                        cold = await context.new_page()
                        started = time.perf_counter()
                        await cold.goto(f"{base}{path}")
                        await cold.wait_for_selector("body[data-live='1']", timeout=20000)
                        drawn = (time.perf_counter() - started) * 1000
                        figures = await cold.evaluate(MEASURE)
                        samples.append({**figures, "live_ms": drawn})
                        await context.close()
                    rows.append(
                        {
                            "page": title,
                            **{
                                key: statistics.median(
                                    s[key] for s in samples if s[key] is not None
                                )
                                for key in samples[0]
                            },
                        }
                    )
                await browser.close()
        finally:
            await service.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--width", type=int, default=390, help="viewport width (390: a phone)")
    args = parser.parse_args()
    rows = run_loop(measure(args.runs, args.width))
    print(
        f"{'page':<12}{'requests':>9}{'KB':>8}{'JS KB':>8}{'CSS KB':>8}"
        f"{'FCP ms':>8}{'DCL ms':>8}{'load ms':>8}{'live ms':>8}"
    )
    for row in rows:
        print(
            f"{row['page']:<12}{row['requests']:>9.0f}{row['bytes'] / 1024:>8.1f}"
            f"{row['script_bytes'] / 1024:>8.1f}{row['style_bytes'] / 1024:>8.1f}"
            f"{row['fcp_ms']:>8.0f}{row['dcl_ms']:>8.0f}{row['load_ms']:>8.0f}"
            f"{row['live_ms']:>8.0f}"
        )


if __name__ == "__main__":
    main()
