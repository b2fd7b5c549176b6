"""The UI's pages: each module gives ``routes(service, templates)``, its page and its API.

``NAV`` is the menu every page shows; ``page_routes`` gathers the modules' routes
for ``ui.app.create_app``.
"""

from __future__ import annotations

import importlib
from typing import Any

from starlette.routing import BaseRoute
from starlette.templating import Jinja2Templates

#: (path, title) in menu order; a page's template is rendered with that title.
NAV = [
    ("/overview", "Overview"),
    ("/flows", "Flows"),
    ("/plan", "Plan"),
    ("/graphs", "Graphs"),
    ("/accounting", "Accounting"),
    ("/loads", "Loads"),
    ("/settings", "Settings"),
]
#: Modules under ui/pages with a ``routes(service, templates)`` function.
MODULES = ("overview", "plan", "graphs", "accounting", "loads", "flexible", "settings")


def page_routes(service: Any, templates: Jinja2Templates) -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    for name in MODULES:
        try:
            module = importlib.import_module(f"ui.pages.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"ui.pages.{name}":
                raise
            continue  # a page still being written
        routes.extend(module.routes(service, templates))
    return routes
