"""The settings page: the site config in forms made from its JSON Schema, applied live.

``GET /settings`` is the page; ``GET /api/settings`` the schema, the values over
the defaults and the defaults, every secret masked (``powermaster.settings``).
``POST /api/settings`` takes an edit as a JSON merge patch (RFC 7396) of the
site config: only what changed, ``null`` to go back to a default; a secret is
write-only (text replaces it, a mask or ``""`` keeps it). The edit is checked
exactly as loading site.yaml does: any problem answers 422 with each problem's
field and changes nothing. Otherwise site.yaml (and secrets.yaml) are written
and the flows restart on the new config in this process; the answer is the new
view with ``changed``, the fields that changed.

The page also lists, makes and revokes API tokens; their routes (``/api/tokens``)
are ``ui.tokens``'s, beside the sign-in they stand in for.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.templating import Jinja2Templates

from flowengine.errors import InvalidRequest
from ui.limits import LONG_JSON, read_json
from ui.service import Service, SettingsNotApplied


class Json(JSONResponse):
    def render(self, content: Any) -> bytes:
        return json.dumps(content, default=str, ensure_ascii=False).encode()


def refused(problems: list[dict[str, str]]) -> Json:
    return Json(
        {"error": "settings refused: nothing was changed", "problems": problems}, status_code=422
    )


def routes(service: Service, templates: Jinja2Templates) -> list[BaseRoute]:
    async def page(request: Request) -> Response:
        return templates.TemplateResponse(request, "settings.html", {"title": "Settings"})

    async def settings(request: Request) -> Response:
        if request.method in ("GET", "HEAD"):  # HEAD is a read: never a write without a token
            return Json(service.settings_view())
        try:
            patch = await read_json(request, LONG_JSON)  # BadBody past its limits: 400
        except ValueError:
            patch = None
        if not isinstance(patch, dict):
            return refused(
                [
                    {
                        "field": "",
                        "message": "the body must be a JSON object "
                        'of changes, like {"battery": {"soc_min": 0.15}}',
                    }
                ]
            )
        try:
            return Json(await service.apply_settings(patch))
        except InvalidRequest as exc:
            return refused([problem.as_dict() for problem in exc.problems])
        except SettingsNotApplied as exc:
            return Json({"error": str(exc)}, status_code=500)

    return [
        Route("/settings", page),
        Route("/api/settings", settings, methods=["GET", "POST"]),
    ]
