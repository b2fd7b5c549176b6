"""A session signed in with the printed one-time password reaches the set-password page
and nothing else: over every route of the real service's app, each method, it gets a
redirect to /password or 403, or on an open route exactly what a stranger gets."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route

from tests.support.service import running_service
from tests.support.web import client, sign_in
from ui.security import OPEN_PATHS, OPEN_PREFIXES, SETTING_UP

START = datetime(2026, 1, 15, 2, 0, tzinfo=UTC).timestamp()
PARAM = re.compile(r"\{(\w+)(:\w+)?\}")


def requests_of(routes: list[BaseRoute], flow_id: str) -> list[tuple[str, str]]:
    """(method, path) for every method of every route, path parameters filled in."""
    found = []
    for route in routes:
        if isinstance(route, Mount):
            found += [("GET", f"{route.path}/app.css"), ("HEAD", f"{route.path}/app.css")]
            continue
        assert isinstance(route, Route), route
        path = PARAM.sub(lambda m: flow_id if m.group(1) == "flow_id" else "1", route.path)
        found += [(method, path) for method in sorted(route.methods or ())]
    return found


async def answer(http: aiohttp.ClientSession, method: str, url: str) -> tuple[int, Any]:
    async with http.request(method, url, json={}, allow_redirects=False) as response:
        if method == "HEAD" and response.status == 403:
            return response.status, None
        if response.content_type == "application/json":
            return response.status, await response.json()
        if response.status in (301, 302, 303, 307):
            return response.status, response.headers["location"]
        return response.status, response.content_type


async def test_the_one_time_password_session_reaches_only_the_password_page(
    tmp_path: Path, free_port: int
) -> None:
    async with running_service(tmp_path / "data", free_port, START) as site:
        assert site.auth is not None and site.auth.one_time_password and site._web is not None
        base = site._web.url
        app = site._web.server.config.app
        assert isinstance(app, Starlette)
        routes = app.routes
        requests = requests_of(routes, next(iter(site.engine.flows)))
        assert ("GET", "/metrics") in requests and ("POST", "/api/override") in requests
        async with client() as once, client() as stranger:
            await sign_in(once, base, site.auth.one_time_password)  # its CSRF token on writes
            for method, path in requests:
                if path in SETTING_UP:
                    continue
                status, got = await answer(once, method, f"{base}{path}")
                if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
                    assert (status, got) == await answer(stranger, method, f"{base}{path}"), (
                        method,
                        path,
                    )
                    continue
                refused: dict[str, str] | None = {
                    "error": "set your own password first (/password)"
                }
                if method == "HEAD":
                    refused = None  # the same refusal, with no body
                assert (status, got) in ((303, "/password"), (403, refused)), (method, path)
            async with once.get(f"{base}/metrics") as response:
                assert response.status == 401  # what a scraper without the token gets
            async with once.get(f"{base}/password") as response:
                assert response.status == 200 and "Set your password" in await response.text()
