"""The accounting page: its figures come from /api/billing and /api/ledger (tested in
test_billing_api.py); here, the page itself, with the ids the browser tests use."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from starlette.applications import Starlette
from starlette.templating import Jinja2Templates

from flowengine import VirtualClock
from nodes.ledger.entries import KINDS
from powermaster.service import Options, Service
from tests.ui.conftest import serve
from ui.pages import accounting

TEMPLATES = Path(accounting.__file__).parent.parent / "templates"


async def test_the_page_offers_every_kind_of_entry_and_has_the_ids(
    tmp_path: Path, free_port: int
) -> None:
    site = Service(Options(data_dir=tmp_path / "data", ui=False), clock=VirtualClock(0.0))
    app = Starlette(routes=accounting.routes(site, Jinja2Templates(directory=TEMPLATES)))
    try:
        async with (
            serve(app, free_port) as url,
            aiohttp.ClientSession() as http,
            http.get(f"{url}/accounting") as response,
        ):
            assert response.status == 200
            html = await response.text()
    finally:
        site.engine.close()
    for marker in (
        "cycle-net",
        "cycle-projected-net",
        "saved-vs-self-use",
        "saved-vs-no-battery",
        "went-days",
        "went-summary",
        "went-legend",
        "ledger",
        "closed-cycles",
        "ledger-kind",
        "ledger-more",
    ):
        assert f'id="{marker}"' in html
    assert all(f'<option value="{kind}">' in html for kind in KINDS)
    assert 'src="/static/accounting.js"' in html
    assert "<script>" not in html and "style=" not in html and " onclick" not in html
    assert accounting.KIND_NAMES.keys() == set(KINDS)
