"""The accounting page: the billing cycle so far and projected, where each day's money
went, closed cycles, the ledger.

``GET /accounting`` is the page; its figures come from the existing
``GET /api/billing`` and ``GET /api/ledger?view=intervals`` (docs/ledger.md), which the
page's script reads and reads again when a control tick or a settlement posts, and from
``GET /api/attribution?since=&until=`` (here): each finished day's bill against the
best that day allowed, the gap split into PV, load and price forecast error and
execution (``nodes.planning.days``), read in a worker thread. The ledger is shown one
interval to a row; ``KIND_NAMES`` label its filter ("intervals with ...").
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.templating import Jinja2Templates

from flowengine.errors import InvalidRequest
from nodes.ledger.entries import KINDS
from nodes.planning.days import NoAttribution
from ui.service import Service

#: What each kind of ledger entry is called in the page's filter (docs/ledger.md says what each is).
KIND_NAMES = {
    "import_cost": "Imports",
    "export_revenue": "Exports",
    "import_settlement": "An import settlement",
    "export_settlement": "An export settlement",
    "self_consumption_saving": "Self-consumption",
    "battery_charge_grid": "Battery charged from the grid",
    "battery_charge_solar": "Battery charged from solar",
    "battery_discharge_load": "Battery to the home",
    "battery_discharge_grid": "Battery to the grid",
    "arbitrage_pnl": "A battery margin",
    "baseline_no_battery": "A no-battery baseline",
    "baseline_self_use": "A self-use baseline",
}


def routes(service: Service, templates: Jinja2Templates) -> list[BaseRoute]:
    async def page(request: Request) -> Response:
        kinds = [(kind, KIND_NAMES.get(kind, kind.replace("_", " "))) for kind in KINDS]
        return templates.TemplateResponse(
            request, "accounting.html", {"title": "Accounting", "kinds": kinds}
        )

    async def attribution(request: Request) -> Response:
        try:
            body = await asyncio.to_thread(service.attribution, request.query_params)
        except InvalidRequest as exc:
            problems = [p.as_dict() for p in exc.problems]
            body = {"error": "bad attribution query", "problems": problems}
            return JSONResponse(body, status_code=400)
        except NoAttribution as exc:
            return JSONResponse({"error": str(exc)}, status_code=404)
        return JSONResponse(body)

    return [Route("/accounting", page), Route("/api/attribution", attribution)]
