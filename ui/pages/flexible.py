"""The flexible loads' API: each car charger or diverter, its target, and what the plan does.

``GET /api/flexible`` lists every flexible load of site.yaml with its state
(``global.flexible_loads``: power, setpoint, plugged, SOC, this session's energy,
the reason for its setpoint), what it needs by when, and the plan's power for it
in each slot with the plan's reason, times in the site's zone.
``POST /api/flexible/{id}/target`` sets a one-off target (``{soc | energy_kwh, by}``:
``by`` as "06:00", the next time the clock reads it, or an ISO time) that replaces
the configured one for its next deadline; ``DELETE`` cancels it. The plan flow
re-plans on either.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.templating import Jinja2Templates

from flowengine import local_iso
from nodes.core.wallclock import site_zone
from nodes.flexible import flexible_configs
from nodes.flexible.one_off import (
    TARGETS_KEY,
    InvalidFlexibleTarget,
    UnknownFlexibleLoad,
    cancel_target,
    pending,
)
from nodes.flexible.one_off import set_target as store_target
from ui.limits import read_json
from ui.service import Service

STATE_KEY = "flexible_loads"
PLAN_KEY = "plan"


def routes(service: Service, templates: Jinja2Templates) -> list[BaseRoute]:
    async def listing(request: Request) -> Response:
        engine = service.engine
        zone = site_zone(engine.timezone)
        now = engine.clock.time()
        return JSONResponse(
            flexible_view(
                engine.settings,
                engine.context.get("global", STATE_KEY),
                engine.context.get("global", PLAN_KEY),
                pending(engine.context.get("global", TARGETS_KEY), now),
                zone,
            )
        )

    async def target(request: Request) -> Response:
        engine = service.engine
        zone = site_zone(engine.timezone)
        now = engine.clock.time()
        load_id = request.path_params["load_id"]
        if load_id not in (engine.settings.get("flexible_loads") or {}):
            known = ", ".join(engine.settings.get("flexible_loads") or {}) or "none configured"
            return JSONResponse({"error": f"no flexible load {load_id!r} ({known})"}, 404)
        if request.method == "DELETE":
            dropped = cancel_target(engine.context, load_id, now)
            if dropped is None:
                return JSONResponse({"error": f"{load_id} has no one-off target"}, 404)
            return JSONResponse({"cancelled": _target(dropped, zone)})
        try:
            body = await read_json(request)
        except ValueError:
            body = None
        source = "ui" if request.scope.get("state", {}).get("session") else "api"
        try:
            stored = store_target(engine.context, now, engine.settings, load_id, body, source)
        except UnknownFlexibleLoad as exc:
            return JSONResponse({"error": str(exc.problems[0].message)}, 404)
        except InvalidFlexibleTarget as exc:
            problems = [p.as_dict() for p in exc.problems]
            return JSONResponse({"error": f"{load_id} target refused", "problems": problems}, 422)
        answer = {"load": load_id, **_target(stored, zone)}
        if "replaced" in stored:  # one target per load: the one it replaced
            answer["replaced"] = _target(stored["replaced"], zone)
        return JSONResponse(answer, status_code=201)

    return [
        Route("/api/flexible", listing),
        Route("/api/flexible/{load_id}/target", target, methods=["POST", "DELETE"]),
    ]


def flexible_view(
    settings: Mapping[str, Any],
    states: Any,
    plan: Any,
    one_offs: Mapping[str, Any],
    zone: tzinfo,
) -> dict[str, Any]:
    """Every flexible load as the API shows it."""
    states = states if isinstance(states, Mapping) else {}
    plan = plan if isinstance(plan, Mapping) else {}
    planned = {f.get("name"): f for f in plan.get("flexible") or [] if isinstance(f, Mapping)}
    slots = plan.get("slots") or []
    starts = [_epoch(slot.get("start")) for slot in slots]
    step = (starts[1] or 0.0) - (starts[0] or 0.0) if len(starts) > 1 else 1800.0
    loads = []
    for load_id, config in flexible_configs(settings).items():
        state = dict(states.get(load_id) or {})
        entry = planned.get(load_id) or {}
        power = entry.get("power_w") or []
        loads.append(
            {
                "id": load_id,
                "name": config.name,
                "kind": config.kind,
                "max_w": config.max_w,
                "mode": "solar_only" if config.solar_only else "cheapest",
                "from_battery": config.from_battery,
                "state": {
                    **state,
                    "session_start": _local(state.get("session_start"), zone),
                    "deadline": _local(state.get("deadline"), zone),
                },
                "one_off": _target(one_offs[load_id], zone) if load_id in one_offs else None,
                "plan": {
                    "why": entry.get("why"),
                    "deadline": _local(_epoch(entry.get("deadline")), zone),
                    "needed_kwh": entry.get("needed_kwh"),
                    "planned_kwh": entry.get("planned_kwh"),
                    "shortfall_kwh": entry.get("shortfall_kwh"),
                    "met": entry.get("met"),
                    "slots": [
                        {
                            "start": _local(starts[i], zone),
                            "end": _local((starts[i] or 0.0) + step, zone),
                            "power_w": power[i],
                            "import_price": slot.get("import_price"),
                            "reason": slot.get("reason"),
                        }
                        for i, slot in enumerate(slots)
                        if i < len(power) and power[i] > 0
                    ],
                },
            }
        )
    return {"timezone": str(zone), "loads": loads}


def _target(stored: Mapping[str, Any], zone: tzinfo) -> dict[str, Any]:
    return {
        **stored,
        "by": local_iso(float(stored["by"]), zone),
        "set_at": local_iso(float(stored["set_at"]), zone),
    }


def _epoch(value: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(value)).timestamp()
    except ValueError:
        return None


def _local(value: Any, zone: tzinfo) -> str | None:
    return local_iso(float(value), zone) if isinstance(value, int | float) else None
