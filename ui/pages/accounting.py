"""The accounting page: the billing cycle so far and projected, closed cycles, the ledger.

``GET /accounting`` is the page; its figures come from the existing
``GET /api/billing`` and ``GET /api/ledger`` (docs/ledger.md), which the page's
script reads and reads again when a control tick or a settlement posts.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.templating import Jinja2Templates

from nodes.ledger.entries import KINDS
from ui.service import Service

#: What each kind of ledger entry is called on the page (docs/ledger.md says what each is).
KIND_NAMES = {
    "import_cost": "Import cost",
    "export_revenue": "Export revenue",
    "import_settlement": "Import settlement",
    "export_settlement": "Export settlement",
    "self_consumption_saving": "Self-consumption saving",
    "battery_charge_grid": "Battery charged from grid",
    "battery_charge_solar": "Battery charged from solar",
    "battery_discharge_load": "Battery to home",
    "battery_discharge_grid": "Battery to grid",
    "arbitrage_pnl": "Arbitrage",
    "baseline_no_battery": "Without a battery",
    "baseline_self_use": "Inverter self-use",
}


def routes(service: Service, templates: Jinja2Templates) -> list[BaseRoute]:
    async def page(request: Request) -> Response:
        kinds = [(kind, KIND_NAMES.get(kind, kind.replace("_", " "))) for kind in KINDS]
        return templates.TemplateResponse(
            request, "accounting.html", {"title": "Accounting", "kinds": kinds}
        )

    return [Route("/accounting", page)]
