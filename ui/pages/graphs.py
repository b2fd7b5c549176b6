"""The graphs page: energy, money, battery, prices, solar and load over hours, days
and weeks, from the history tables (docs/history.md).

``GET /graphs`` is the page; ``GET /api/history?resolution=30min|day|week&since=
&until=&fields=`` gives its rows (``nodes/history/query.py``), read in a worker
thread on a connection of the service's own. ``GET /api/forecast/accuracy?days=14``
gives its solar forecast card: each PV provider's bias and MAE per day before and
after calibration (``nodes/forecast/accuracy.py``), read the same way.

When money is asked for, the answer also carries the window's ``bill`` (its net bill
so far: imports less exports plus the fixed charges for the time the ledger covers)
and each row's ``fixed_charges`` and ``net_bill``, added up by the same function as
``/api/billing``'s figures (``nodes.ledger.cycles.window``), so the Graphs page and the
Accounting page give the same span the same figure under the same name.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.templating import Jinja2Templates

from flowengine.errors import InvalidRequest
from nodes.history.query import MONEY, NoHistory
from nodes.ledger.store import NoLedger
from ui.service import Service

#: Each row's share of the fixed charges, and its net bill with them.
ROW_MONEY = ("fixed_charges", "net_bill")


def routes(service: Service, templates: Jinja2Templates) -> list[BaseRoute]:
    async def page(request: Request) -> Response:
        return templates.TemplateResponse(request, "graphs.html", {"title": "Graphs"})

    async def history(request: Request) -> Response:
        try:
            body = await asyncio.to_thread(service.history, request.query_params)
        except InvalidRequest as exc:
            problems = [p.as_dict() for p in exc.problems]
            body = {"error": "bad history query", "problems": problems}
            return JSONResponse(body, status_code=400)
        except NoHistory as exc:
            return JSONResponse({"error": str(exc)}, status_code=404)
        if body.get("ledger") and set(body["fields"]) & set(MONEY):
            await asyncio.to_thread(add_bill, body, service.span_bill)
        return JSONResponse(body)

    async def pv_accuracy(request: Request) -> Response:
        try:
            body = await asyncio.to_thread(service.pv_accuracy, request.query_params)
        except InvalidRequest as exc:
            problems = [p.as_dict() for p in exc.problems]
            body = {"error": "bad accuracy query", "problems": problems}
            return JSONResponse(body, status_code=400)
        except NoHistory as exc:
            return JSONResponse({"error": str(exc)}, status_code=404)
        return JSONResponse(body)

    return [
        Route("/graphs", page),
        Route("/api/history", history),
        Route("/api/forecast/accuracy", pv_accuracy),
    ]


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def add_bill(body: dict[str, Any], span_bill: Callable[..., dict[str, Any]]) -> None:
    """The window's ``bill`` and each row's ``fixed_charges`` and ``net_bill`` ($, the
    row's import cost less its export revenue plus its fixed charges), from the service's
    ``span_bill``; ``bill`` is None when the site keeps no ledger."""
    since, until = _epoch(body["since"]), _epoch(body["until"])
    rows = body["rows"]
    bounds = [(_epoch(row["start"]), min(_epoch(row["end"]), until)) for row in rows]
    try:
        figures = span_bill(since, until, bounds)
    except NoLedger:
        body["bill"] = None
        return
    fixed = figures.pop("row_fixed_charges")
    for row, share in zip(rows, fixed, strict=True):
        charges = float(share)
        spent, earned = row.get("import_cost"), row.get("export_revenue")
        row["fixed_charges"] = charges
        known = charges or spent is not None or earned is not None
        row["net_bill"] = (spent or 0.0) - (earned or 0.0) + charges if known else None
    body["units"].update(dict.fromkeys(ROW_MONEY, "$"))
    body["bill"] = figures
