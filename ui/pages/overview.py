"""The overview page: the site now (SOC, power flows, prices, the deciding level and
why, health, the storm reserve, an override) and a chart of the last 24 hours with
the plan for the hours ahead.

``GET /overview`` is the page; it reads ``/api/state`` and ``/api/health`` and is
kept live by the ``state`` events the service publishes on ``/api/events``.
``GET /api/overview/chart?hours=&ahead=`` gives the chart's data
(``powermaster/overview.py``).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.templating import Jinja2Templates

from flowengine.errors import InvalidRequest
from nodes.history.query import NoHistory
from ui.service import Service


def routes(service: Service, templates: Jinja2Templates) -> list[BaseRoute]:
    async def page(request: Request) -> Response:
        return templates.TemplateResponse(request, "overview.html", {"title": "Overview"})

    async def chart(request: Request) -> Response:
        try:
            return JSONResponse(await service.overview_chart(request.query_params))
        except InvalidRequest as exc:
            problems = [p.as_dict() for p in exc.problems]
            body = {"error": "bad chart query", "problems": problems}
            return JSONResponse(body, status_code=400)
        except NoHistory as exc:
            return JSONResponse({"error": str(exc)}, status_code=404)

    return [Route("/overview", page), Route("/api/overview/chart", chart)]
