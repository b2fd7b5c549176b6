"""GET/POST /api/settings over HTTP on the real service (virtual time): secrets never in a
response, a refused edit changes nothing, a good one answers with the new view.

The app here is built from ``ui.pages.settings.routes`` alone, without the sign-in
that ``create_app`` puts in front of every page (tests/ui/test_api.py covers that)."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from flowengine import VirtualClock
from flowengine.secrets import reveal
from flows import SITE_CONFIG
from powermaster.service import Options, Service
from ui.pages import settings as page
from ui.server import WebServer

HERE = Path(page.__file__).parent.parent
START = datetime(2026, 1, 14, 20, 0, tzinfo=UTC).timestamp()
KEY = "psk_abcdefSECRET"


def another_free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def served(tmp_path: Path, free_port: int) -> AsyncIterator[tuple[str, Service]]:
    config = tmp_path / "site.yaml"
    config.write_text(SITE_CONFIG.read_text() + "amber:\n  api_key: !secret amber_api_key\n")
    (tmp_path / "secrets.yaml").write_text(f"amber_api_key: {KEY}\n")
    options = Options(
        config=config, data_dir=tmp_path / "data", simulator_port=another_free_port(), ui=False
    )
    service = Service(options, clock=VirtualClock(START))
    await service.start()
    templates = Jinja2Templates(directory=HERE / "templates")
    app = Starlette(
        routes=[
            *page.routes(service, templates),
            Mount("/static", StaticFiles(directory=HERE / "static")),
        ]
    )
    try:
        async with WebServer(app, "127.0.0.1", free_port) as web:
            yield web.url, service
    finally:
        await service.stop()


async def call(url: str, method: str = "GET", body: Any = None) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.request(method, url, json=body) as response:
        return response.status, await response.text()


async def test_settings_over_http(served: tuple[str, Service]) -> None:
    url, service = served
    config = service.options.config
    status, page_html = await call(f"{url}/settings")
    assert status == 200 and '<script src="/static/settings.js" defer></script>' in page_html
    assert 'id="settings-save"' in page_html and 'id="settings-status"' in page_html
    status, text = await call(f"{url}/api/settings")
    assert status == 200 and KEY not in text and '"api_key": {"secret": true, "set": true}' in text

    before = config.read_bytes()
    status, text = await call(f"{url}/api/settings", "POST", {"battery": {"soc_min": 1.5}})
    assert status == 422 and KEY not in text
    assert '"field": "battery.soc_min"' in text and config.read_bytes() == before
    status, text = await call(f"{url}/api/settings", "POST", [1, 2])
    assert status == 422

    new_key = "psk_NEWNEWNEW"
    status, text = await call(
        f"{url}/api/settings",
        "POST",
        {"battery": {"soc_min": 0.15}, "amber": {"api_key": new_key}},
    )
    assert status == 200, text
    assert KEY not in text and new_key not in text and '"changed": ["amber.api_key"' in text
    assert "soc_min: 0.15" in config.read_text() and new_key not in config.read_text()
    assert service.engine.settings["battery"]["soc_min"] == 0.15
    status, text = await call(f"{url}/api/settings")
    assert '"soc_min": 0.15' in text and new_key not in text and KEY not in text
    status, script = await call(f"{url}/static/settings.js")
    assert status == 200 and "X-CSRF-Token" in script


async def test_a_stored_key_is_not_sent_to_a_new_address_by_any_route(
    served: tuple[str, Service],
) -> None:
    """Issue 16, failure 2: the whole section as ``$yaml`` kept ``api_key: !secret`` under a
    new base_url. Every way to change the address is refused until the key is typed again."""
    url, service = served
    config, amber = service.options.config, dict(service.settings["amber"])
    elsewhere = "http://elsewhere.example/v1"
    for patch in (
        {"amber": {"base_url": elsewhere}},
        {"amber": {"base_url": {"$yaml": elsewhere}}},
        {"amber": {"$yaml": f"api_key: {{secret: true, set: true}}\nbase_url: {elsewhere}"}},
        {"amber": {"$yaml": f"api_key: ''\nbase_url: {elsewhere}"}},
    ):
        before = config.read_bytes()
        status, text = await call(f"{url}/api/settings", "POST", patch)
        assert status == 422 and KEY not in text, (patch, text)
        problems = {p["field"]: p["message"] for p in json.loads(text)["problems"]}
        assert list(problems) == ["amber.api_key"] and "type it again" in problems["amber.api_key"]
        assert config.read_bytes() == before and service.settings["amber"] == amber

    status, text = await call(f"{url}/api/settings", "POST", {"site": {"name": "n" * 4097}})
    assert status == 422 and '"field": "site.name"' in text and "at most 4096" in text

    retyped = {"amber": {"$yaml": f"api_key: psk_RETYPED\nbase_url: {elsewhere}"}}
    status, text = await call(f"{url}/api/settings", "POST", retyped)
    assert status == 200, text
    assert service.settings["amber"]["base_url"] == elsewhere
    assert reveal(service.settings["amber"]["api_key"]) == "psk_RETYPED"
