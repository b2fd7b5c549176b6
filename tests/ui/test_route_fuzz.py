"""Every route of the real service, fuzzed over HTTP while signed in: no 500 (issue 16,
item 5 and failure 8).

The routes come from the app itself (``create_app``), and a test checks that the running
service serves exactly those. Each route and method gets query strings (the names the
handlers read and random ones; huge, negative, non-finite, unicode and empty values),
bodies (random JSON, JSON nested 100,000 deep, random bytes, forms, multipart, wrong
content types) and path parameters (real ids and random text).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.routing import Mount, Route
from yarl import URL

from nodes.forecast import accuracy
from nodes.history import query as history
from nodes.ledger import entries as ledger
from nodes.planning import days
from powermaster import overview
from tests.support.web import client, sign_in
from tests.ui.demo import PASSWORD, DemoSite, demo_site
from ui.app import create_app
from ui.auth import Auth

pytestmark = pytest.mark.asyncio(loop_scope="module")

#: The query parameters each handler reads (any route also gets random ones).
PARAMETERS = {
    "/api/ledger": ledger.PARAMETERS,
    "/api/attribution": days.PARAMETERS,
    "/api/history": history.PARAMETERS,
    "/api/forecast/accuracy": accuracy.PARAMETERS,
    "/api/overview/chart": overview.PARAMETERS,
    "/api/flows/{flow_id}/runs": ("limit",),
    "/login": ("next",),
}
EVERY_PARAMETER = tuple(sorted({name for names in PARAMETERS.values() for name in names}))
#: Body fields the handlers read: overrides, load commands, triggers, settings.
FIELDS = (
    "mode",
    "power_w",
    "duration",
    "reason",
    "name",
    "command",
    "until",
    "payload",
    "battery",
    "site",
    "amber",
    "$yaml",
    "csrf_token",
    "password",
    "again",
    "current",
)
#: Numbers past what a time or a count can be (failure 8 was these).
EXTREMES = (
    "-1e308",
    "1e308",
    "99999999999999",
    "-99999999999999",
    "1e20",
    "-1e20",
    "253402300800",
    "-62135596800",
    "inf",
    "nan",
)
EDGES = (
    "",
    " ",
    "-1",
    "0",
    "1",
    "-0",
    "1e308",
    "-1e308",
    "99999999999999",
    "1" * 5000,
    "nan",
    "NaN",
    "inf",
    "-inf",
    "²",
    "٣",
    "0x10",
    "1_000",
    "2026-01-15",
    "0001-01-01",
    "9999-12-31T23:59:59-12:00",
    "2026-02-30",
    "30min",
    "day",
    "week",
    "import_cost",
    "soc,pv_w",
    "\x00",
    "\n",
    "//elsewhere.example",
    "/overview",
    "force_charge",
    "on",
    "off",
    "auto",
    "1h",
    "-1h",
    "P1D",
)
METHODS = ("PUT", "PATCH", "DELETE", "OPTIONS")
CONTENT_TYPES = (
    "application/json",
    "text/plain",
    "application/x-www-form-urlencoded",
    "application/octet-stream",
    "multipart/form-data; boundary=xyz",
    "application/json; charset=latin-1",
    "",
)

text = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)
values = st.one_of(
    st.sampled_from(EXTREMES),
    st.sampled_from(EDGES),
    st.integers().map(str),
    st.floats().map(repr),
    text,
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | text | st.sampled_from(EDGES),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(FIELDS) | text, inner, max_size=5)
    ),
    max_leaves=20,
)
Body = tuple[str, bytes] | None
bodies: st.SearchStrategy[Body] = st.one_of(
    st.none(),
    json_values.map(lambda v: ("application/json", json.dumps(v).encode())),
    st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=5).map(
        lambda v: ("application/json", json.dumps(v).encode())
    ),
    st.integers(1, 100_000).map(lambda n: ("application/json", b"[" * n + b"]" * n)),
    st.integers(1, 50_000).map(lambda n: ("application/json", b'{"a":' * n + b"1" + b"}" * n)),
    st.dictionaries(st.sampled_from(FIELDS) | text, values, max_size=6).map(
        lambda v: ("application/x-www-form-urlencoded", urlencode(v).encode())
    ),
    st.tuples(st.sampled_from(CONTENT_TYPES), st.binary(max_size=400)),
)


@dataclass(frozen=True)
class Endpoint:
    path: str
    methods: tuple[str, ...]
    params: tuple[str, ...]

    def __str__(self) -> str:
        return self.path


def endpoints() -> list[Endpoint]:
    """The app's routes, from ``create_app`` itself (its handlers are not called)."""
    app = create_app(SimpleNamespace(engine=None), Auth.with_password("not used here"))
    found = []
    for route in app.routes:
        if isinstance(route, Route):
            methods = tuple(sorted(route.methods or ("GET",)))
            found.append(Endpoint(route.path, methods, tuple(route.param_convertors)))
        elif isinstance(route, Mount):
            found.append(Endpoint(route.path + "/{path}", ("GET", "HEAD"), ("path",)))
    return found


ENDPOINTS = endpoints()


@dataclass
class Owner:
    site: DemoSite
    http: aiohttp.ClientSession


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def owner(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Owner]:
    async with demo_site(tmp_path_factory.mktemp("fuzz")) as site, client() as http:
        await sign_in(http, site.url, PASSWORD)
        await site.tick(600)  # a few runs: ids to ask for
        assert site.service.auth is not None
        site.service.auth.tokens.create("fuzzed")  # a token id to ask for
        yield Owner(site, http)


def ids(owner: Owner, name: str) -> list[str]:
    """Real values for a path parameter, so the handlers past the lookup are reached."""
    engine = owner.site.service.engine
    if name == "flow_id":
        return list(engine.flows)
    if name == "node_id":
        return [node for flow in engine.flows.values() for node in flow.nodes]
    if name == "run_id":
        return [run["run_id"] for flow in engine.flows for run in engine.traces.recent(flow, 3)]
    if name == "token_id":
        auth = owner.site.service.auth
        return [token["id"] for token in auth.tokens.listed()] if auth is not None else []
    if name == "path":
        return ["common.js", "style.css", "../ui/app.py", "%2e%2e/app.py"]
    return []


async def test_every_route_of_the_running_service_is_fuzzed(owner: Owner) -> None:
    web = owner.site.service._web
    assert web is not None
    app = web.server.config.app
    assert isinstance(app, Starlette)
    served = {getattr(route, "path", "") for route in app.routes}
    assert {e.path.removesuffix("/{path}") for e in ENDPOINTS} == served


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_no_route_answers_500(owner: Owner, endpoint: Endpoint, data: st.DataObject) -> None:
    method = data.draw(st.sampled_from(endpoint.methods + METHODS), label="method")
    path = endpoint.path
    for name in endpoint.params:
        real = st.sampled_from(ids(owner, name) or ["x"])
        value = data.draw(real | text.filter(bool), label=name)
        path = path.replace(f"{{{name}}}", quote(value, safe=""))
    used = PARAMETERS.get(endpoint.path, EVERY_PARAMETER)
    known = data.draw(st.dictionaries(st.sampled_from(used), values, max_size=4), label="query")
    extra = data.draw(st.lists(st.tuples(text, values), max_size=2), label="more query")
    query = [*known.items(), *extra]
    body = data.draw(bodies, label="body")
    url = URL(f"{owner.site.url}{path}?{urlencode(query, quote_via=quote)}", encoded=True)
    headers: dict[str, Any] = {}
    if body is not None and body[0]:
        headers["Content-Type"] = body[0]
    payload = body[1] if body is not None else None
    async with owner.http.request(
        method, url, data=payload, headers=headers, allow_redirects=False
    ) as response:
        status = response.status
        if not response.headers.get("content-type", "").startswith("text/event-stream"):
            answer = await response.text(errors="replace")
        else:
            answer = "(an event stream)"
    assert status < 500, f"{method} {path}: {status} {answer[:300]}"
    if path == "/logout" and status == 303:
        await sign_in(owner.http, owner.site.url, PASSWORD)


@pytest.mark.parametrize("path", sorted(PARAMETERS))
@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
async def test_no_query_answers_500(owner: Owner, path: str, data: st.DataObject) -> None:
    """The routes that read a query, asked with only their own names: one bad value is
    not hidden behind another parameter's refusal."""
    used = PARAMETERS[path]
    query = data.draw(st.dictionaries(st.sampled_from(used), values, min_size=1, max_size=2))
    path = path.replace("{flow_id}", "control")
    url = URL(f"{owner.site.url}{path}?{urlencode(query, quote_via=quote)}", encoded=True)
    async with owner.http.get(url, allow_redirects=False) as response:
        answer = await response.text(errors="replace")
    assert response.status < 500, f"{path} {query}: {response.status} {answer[:300]}"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("/api/ledger?since=-1e308", "since"),
        ("/api/ledger?until=99999999999999", "until"),
        ("/api/history?until=99999999999999", "until"),
        ("/api/history?since=-1e308", "since"),
        ("/api/history?since=0001-01-01T00:00", "since"),
        ("/api/overview/chart?hours=1e308", "hours"),
        ("/api/attribution?until=99999999999999", "until"),
    ],
)
async def test_a_time_out_of_range_is_400_naming_the_parameter(
    owner: Owner, query: str, field: str
) -> None:
    """Failure 8: these answered 500 (OverflowError, year out of range)."""
    async with owner.http.get(f"{owner.site.url}{query}") as response:
        assert response.status == 400
        problems = (await response.json())["problems"]
    assert field in [problem["field"] for problem in problems]
