"""The web UI and its JSON API, as one Starlette app over a running service.

``create_app(service, auth)`` serves the pages (``ui.pages``), a JSON API and a
live event stream (Server-Sent Events), all behind the owner's sign-in and CSRF
checks (``ui.security``), with a Content-Security-Policy that lets the browser
load nothing but this app's own files. It only reads the engine, except ``trigger``,
which starts a run by hand exactly as a trigger would, and ``override``, which
sets or ends the user's manual override through the service. ``billing`` and
``ledger`` read the ledger (docs/ledger.md). ``/api/tokens`` makes, lists and
revokes the API tokens scripts use instead of a session (``ui.tokens``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sse_starlette import EventSourceResponse
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from flowengine.errors import InvalidRequest
from nodes.control.site import control_mode
from nodes.ledger.store import NoLedger
from nodes.loads import set_load_command
from ui import login, tokens
from ui.auth import Auth
from ui.limits import LONG_JSON, BadBody, RequestLimits, bad_body, read_json, whole_number
from ui.metrics import CONTENT_TYPE, allowed, exposition, registry_for
from ui.pages import NAV, page_routes
from ui.security import RequireLogin, SecurityHeaders, by_token, session_of
from ui.service import Service
from ui.views import context_view, flow_view, node_messages, trace_view

HERE = Path(__file__).parent
#: Only our own files: the page must never load anything from elsewhere.
CSP = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
PING_SECONDS = 15.0
#: What /api/health tells someone not signed in (a monitor): the state, nothing more.
OPEN_HEALTH = ("status", "since", "time")
RUNS_LIMIT = 20
#: The most runs of a flow one request asks for (the traces keep far fewer).
MAX_RUNS_LIMIT = 1000


class Json(JSONResponse):
    """JSON that tolerates odd values in configs and payloads (dates, paths)."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, default=str, ensure_ascii=False).encode()


def page_context(request: Request) -> dict[str, Any]:
    """What every template gets: the menu, whether someone is signed in, the CSRF token."""
    session = session_of(request.scope)
    # A one-time-password session sees no menu and opens no stream: it may only set a password.
    return {
        "pages": NAV,
        "signed_in": session is not None and not session.must_set_password,
        "csrf_token": session.csrf if session is not None else "",
    }


def create_app(service: Service, auth: Auth, ping: float = PING_SECONDS) -> Starlette:
    """Build the UI app; ``ping`` is the SSE keep-alive interval in seconds."""
    engine = service.engine

    def mode_context(request: Request) -> dict[str, Any]:
        """Shadow mode (control.mode): every page says so. The site's time zone: every
        page shows times in it, whatever zone the browser is in."""
        return {
            "shadow": control_mode(engine.settings) == "shadow",
            "site_timezone": str(engine.settings.get("site", {}).get("timezone") or "UTC"),
        }

    templates = Jinja2Templates(
        directory=HERE / "templates", context_processors=[page_context, mode_context]
    )

    def not_found(what: str) -> Json:
        return Json({"error": f"no {what}"}, status_code=404)

    pages = page_routes(service, templates)
    home = "/overview" if any(getattr(r, "path", "") == "/overview" for r in pages) else "/flows"

    async def index(request: Request) -> Response:
        return RedirectResponse(home)

    async def flows_page(request: Request) -> Response:
        return templates.TemplateResponse(request, "flows.html", {"title": "Flows"})

    async def health(request: Request) -> Response:
        """Open for monitoring, but only the status: the checks and reasons (a refused
        edit's problems, provider errors) are for someone signed in."""
        report = service.health()
        code = 503 if report.get("status") == "safety" else 200
        session = session_of(request.scope)
        trusted = by_token(request.scope) or (session is not None and not session.must_set_password)
        if not trusted:
            report = {key: report[key] for key in OPEN_HEALTH if key in report}
        return Json(report, status_code=code)

    async def state(request: Request) -> Response:
        return Json(service.state())

    async def flows(request: Request) -> Response:
        return Json([flow_view(flow, engine.registry) for flow in engine.flows.values()])

    async def context_map(request: Request) -> Response:
        """Which flow's context keys feed which flow (the Flows page's map)."""
        return Json(context_view(engine.flows, engine.flowset.outside))

    async def debug(request: Request) -> Response:
        """The last core.debug messages (newest last); live ones come on /api/events."""
        return Json({"timezone": engine.timezone, "messages": list(engine.events.debug)})

    async def flow(request: Request) -> Response:
        found = engine.flows.get(request.path_params["flow_id"])
        return Json(flow_view(found, engine.registry)) if found else not_found("such flow")

    async def runs(request: Request) -> Response:
        flow_id = request.path_params["flow_id"]
        if flow_id not in engine.flows:
            return not_found("such flow")
        limit = whole_number(
            request.query_params.get("limit", "") or str(RUNS_LIMIT), 1, MAX_RUNS_LIMIT
        )
        if limit is None:
            error = f"limit must be a whole number from 1 to {MAX_RUNS_LIMIT}"
            return Json(
                {"error": error, "problems": [{"field": "limit", "message": error}]},
                status_code=400,
            )
        return Json(engine.traces.recent(flow_id, limit))

    async def run(request: Request) -> Response:
        flow_id, run_id = request.path_params["flow_id"], request.path_params["run_id"]
        trace = engine.traces.get(flow_id, run_id)
        if trace is None:
            return not_found("such run")
        return Json(trace_view(trace, engine.flows.get(flow_id)))

    async def messages(request: Request) -> Response:
        """A node's last messages in the runs still kept (got, gave, error, time taken)."""
        found = engine.flows.get(request.path_params["flow_id"])
        node_id = request.path_params["node_id"]
        if found is None or node_id not in found.nodes:
            return not_found("such node")
        return Json(node_messages(engine.traces, found, node_id))

    async def trigger(request: Request) -> Response:
        flow_id = request.path_params["flow_id"]
        if flow_id not in engine.flows:
            return not_found("such flow")
        try:
            payload = (await read_json(request, LONG_JSON, empty={})).get("payload")
        except (ValueError, AttributeError):
            return Json({"error": 'body must be JSON like {"payload": ...}'}, status_code=400)
        run_id = engine.trigger(flow_id, payload, source="manual")
        if run_id is None:
            flow = engine.flows[flow_id]
            why = "the flow is stopped" if not flow.running else "a run is still going"
            error = f"run dropped: {why} (mode {flow.spec.mode})"
            return Json({"error": error, "mode": flow.spec.mode}, status_code=409)
        return Json({"run_id": run_id, "flow": flow_id}, status_code=202)

    async def webhook(request: Request) -> Response:
        """A flow's webhook trigger: the id is the key, the JSON body (or text) the payload."""
        hook = engine.webhooks.get(request.path_params["webhook_id"])
        if hook is None:
            return not_found("webhook")
        # The body's size is bounded by ui.limits (BODY_LIMITS); deep JSON answers 400.
        try:
            payload: Any = await read_json(request, LONG_JSON)
        except ValueError:  # not JSON: the text is the payload
            payload = (await request.body()).decode("utf-8", errors="replace")
        run_id = hook.receive(payload)
        if run_id is None:
            return Json({"error": "run dropped: a run is still going"}, status_code=409)
        return Json({"run_id": run_id, "flow": hook.flow.id}, status_code=202)

    async def override(request: Request) -> Response:
        if request.method in ("GET", "HEAD"):  # HEAD is a read: never a write without a token
            return Json({"override": service.override()})
        if request.method == "DELETE":
            return Json({"override": None, "cleared": service.clear_override()})
        body, problems = await _override_request(request)
        if not problems:
            # A signed-in browser is the web page; an API token (no session) a script.
            source = "ui" if request.scope.get("state", {}).get("session") else "api"
            try:
                return Json(service.set_override(**body, source=source))
            except ValueError as exc:
                problems = _problems(exc)
        return Json({"error": "override refused", "problems": problems}, status_code=422)

    async def planned_overrides(request: Request) -> Response:
        """The overrides set ahead (POST /api/override with a from still to come)."""
        return Json({"planned": service.planned_overrides()})

    async def planned_override(request: Request) -> Response:
        """DELETE one override set ahead, by its id."""
        dropped = service.cancel_planned_override(request.path_params["override_id"])
        if dropped is None:
            return not_found("override set ahead with that id")
        return Json({"cancelled": dropped})

    async def override_preview(request: Request) -> Response:
        """POST an override as to /api/override: what it would cost, nothing set."""
        body, problems = await _override_request(request)
        if not problems:
            try:
                return Json(await service.preview_override(**body))
            except ValueError as exc:
                problems = _problems(exc)
        return Json({"error": "override refused", "problems": problems}, status_code=422)

    async def loads(request: Request) -> Response:
        """Each load's state (global.loads) and the manual commands in force; POST
        {name, command: on|off|auto, until?} sets one, as Home Assistant's switches do."""
        engine = service.engine
        if request.method == "POST":
            try:
                body = await read_json(request, empty={})
                if not isinstance(body, dict):
                    raise ValueError("body must be a JSON object {name, command, until}")
                unknown = set(body) - {"name", "command", "until"}
                if unknown:
                    raise ValueError(f"unknown fields: {', '.join(sorted(unknown))}")
                stored = set_load_command(
                    engine.context,
                    engine.clock,
                    body.get("name"),
                    body.get("command"),
                    body.get("until"),
                    "api",
                    engine.settings,
                )
            except ValueError as exc:
                return Json(
                    {"error": "load command refused", "problems": _problems(exc)},
                    status_code=422,
                )
            return Json({"command": stored})
        return Json(
            {
                "loads": engine.context.get("global", "loads") or {},
                "commands": engine.context.get("global", "load_commands") or {},
            }
        )

    async def billing(request: Request) -> Response:
        """Billing cycles: the open one so far and projected, the closed ones newest first."""
        try:
            return Json(await asyncio.to_thread(service.billing))
        except NoLedger as exc:
            return Json({"error": str(exc)}, status_code=404)

    async def ledger(request: Request) -> Response:
        """Ledger entries and gaps, newest first: ?since=&until=&kind=&limit=."""
        try:
            return Json(await asyncio.to_thread(service.ledger, request.query_params))
        except InvalidRequest as exc:
            problems = [p.as_dict() for p in exc.problems]
            return Json({"error": "bad ledger query", "problems": problems}, status_code=400)
        except NoLedger as exc:
            return Json({"error": str(exc)}, status_code=404)

    async def events(request: Request) -> Response:
        return EventSourceResponse(_stream(service), ping=ping)

    scraped = registry_for(service)

    async def metrics(request: Request) -> Response:
        """Prometheus's scrape (ui.metrics), with the site config's metrics.token as a
        bearer token, or from a signed-in browser."""
        if session_of(request.scope) is None and not allowed(
            engine.settings, request.headers.get("authorization")
        ):
            error = "send Authorization: Bearer <metrics.token of the site config>, or sign in"
            return Json({"error": error}, status_code=401, headers={"WWW-Authenticate": "Bearer"})
        return Response(exposition(scraped), media_type=CONTENT_TYPE)

    routes = [
        Route("/", index),
        Route("/flows", flows_page),
        Route("/api/health", health),
        Route("/api/state", state),
        Route("/api/flows", flows),
        Route("/api/context", context_map),
        Route("/api/debug", debug),
        Route("/api/flows/{flow_id}", flow),
        Route("/api/flows/{flow_id}/runs", runs),
        Route("/api/flows/{flow_id}/runs/{run_id}", run),
        Route("/api/flows/{flow_id}/nodes/{node_id}/messages", messages),
        Route("/api/flows/{flow_id}/trigger", trigger, methods=["POST"]),
        Route("/api/webhook/{webhook_id}", webhook, methods=["POST"]),
        Route("/api/override", override, methods=["GET", "POST", "DELETE"]),
        Route("/api/override/preview", override_preview, methods=["POST"]),
        Route("/api/override/planned", planned_overrides),
        Route("/api/override/planned/{override_id}", planned_override, methods=["DELETE"]),
        Route("/api/loads", loads, methods=["GET", "POST"]),
        Route("/api/billing", billing),
        Route("/api/ledger", ledger),
        Route("/api/events", events),
        Route("/metrics", metrics),
        *login.routes(auth, templates),
        *tokens.routes(auth.tokens),
        *pages,
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    middleware = [
        Middleware(SecurityHeaders, policy=CSP),
        # Before anything reads a body: its size by path, no multipart (ui.limits).
        Middleware(RequestLimits),
        # A phone on the garden's Wi-Fi: pages and JSON compressed (the event stream is not).
        Middleware(GZipMiddleware, minimum_size=1024),
        Middleware(RequireLogin, auth=auth),
    ]
    return Starlette(routes=routes, middleware=middleware, exception_handlers={BadBody: bad_body})


#: What POST /api/override takes; mode, power_w and duration (or until) are required;
#: ``from`` still to come sets it ahead.
OVERRIDE_FIELDS = ("mode", "power_w", "duration", "reason", "from", "until")


async def _override_request(request: Request) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The override fields of a JSON body, or the problems with it (each naming its field)."""
    try:
        body = await read_json(request)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return {}, [
            {
                "field": "",
                "message": "body must be a JSON object like "
                '{"mode": "force_charge", "power_w": 3000, "duration": "1h"}',
            }
        ]
    unknown = [
        {"field": key, "message": f"is not a field of an override ({', '.join(OVERRIDE_FIELDS)})"}
        for key in body
        if key not in OVERRIDE_FIELDS
    ]
    fields = {key: body.get(key) for key in OVERRIDE_FIELDS if key != "from"}
    return {**fields, "start": body.get("from")}, unknown


def _problems(exc: ValueError) -> list[dict[str, Any]]:
    """The located problems a refused override carries, else its message."""
    problems = getattr(exc, "problems", None)
    if not problems:
        return [{"field": "", "message": str(exc)}]
    return [
        p.as_dict() if hasattr(p, "as_dict") else {"field": "", "message": str(p)} for p in problems
    ]


async def _stream(service: Service) -> AsyncIterator[dict[str, str]]:
    """Every node's last status, then ``ready``, then live events until disconnect."""
    bus = service.engine.events
    queue: asyncio.Queue[dict[str, Any]] = bus.subscribe()
    try:
        for _ in range(queue.qsize()):
            yield _sse(queue.get_nowait())
        yield _sse({"type": "ready"})
        while True:
            yield _sse(await queue.get())
    finally:
        bus.unsubscribe(queue)


def _sse(event: dict[str, Any]) -> dict[str, str]:
    return {"data": json.dumps(event, default=str, ensure_ascii=False)}
