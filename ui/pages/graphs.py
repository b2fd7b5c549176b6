"""The graphs page: energy, money, battery, prices, solar and load over hours, days
and weeks, from the history tables (docs/history.md).

``GET /graphs`` is the page; ``GET /api/history?resolution=30min|day|week&since=
&until=&fields=`` gives its rows (``nodes/history/query.py``), read in a worker
thread on a connection of the service's own.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.templating import Jinja2Templates

from flowengine.errors import InvalidRequest
from nodes.history.query import NoHistory
from ui.service import Service


def routes(service: Service, templates: Jinja2Templates) -> list[BaseRoute]:
    async def page(request: Request) -> Response:
        return templates.TemplateResponse(request, "graphs.html", {"title": "Graphs"})

    async def history(request: Request) -> Response:
        try:
            return JSONResponse(await asyncio.to_thread(service.history, request.query_params))
        except InvalidRequest as exc:
            problems = [p.as_dict() for p in exc.problems]
            body = {"error": "bad history query", "problems": problems}
            return JSONResponse(body, status_code=400)
        except NoHistory as exc:
            return JSONResponse({"error": str(exc)}, status_code=404)

    return [Route("/graphs", page), Route("/api/history", history)]
