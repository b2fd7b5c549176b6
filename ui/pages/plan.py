"""The plan page: the plan in force slot by slot, and when and why it was last rebuilt.

``GET /plan`` is the page; ``GET /api/plan`` the plan in force (``global.plan``)
as the page shows it: each slot in the site's wall time with its mode, powers,
SOC, prices, cost and reason, the slot holding now, the expected cost, why it
was built (the plan flow's trigger: start-up, its interval, a re-plan's
reason), the SOC targets it plans for and whether each is met, its demand
charges (the peak it plans and what that adds), the slots an override or the
weekly schedule holds, the plan flow's recent runs (a failed rebuild leaves the
previous plan in force, and says so here) and what the re-plan check last said.
Everything comes from the engine's memory, so it is cheap to ask for on every
rebuild.

``/api/targets`` lists, sets (POST) and cancels (DELETE ``/api/targets/{id}``) the
one-off SOC targets (nodes/planning/one_off.py) the plan flow plans for.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.templating import Jinja2Templates

from flowengine import local_iso
from flowengine.engine import Engine
from nodes.core.wallclock import site_zone
from nodes.planning import one_off
from nodes.planning.one_off import InvalidTarget
from ui.limits import read_json
from ui.service import Service

PLAN_FLOW = "plan"
REPLAN_FLOW = "replan"
PLAN_KEY = "plan"
#: The plan flow's runs shown beside the plan.
RECENT_RUNS = 8
DEFAULT_SLOT_S = 1800.0
NO_PLAN = (
    "no plan yet: the plan flow builds one at start-up and every 30 minutes; "
    "until then the control tick runs the inverter in self-use"
)


def routes(service: Service, templates: Jinja2Templates) -> list[BaseRoute]:
    async def page(request: Request) -> Response:
        return templates.TemplateResponse(request, "plan.html", {"title": "Plan"})

    async def plan(request: Request) -> Response:
        """The plan in force as the page shows it; 404 saying why when there is none."""
        engine = service.engine
        zone = site_zone(engine.timezone)
        runs = engine.traces.recent(PLAN_FLOW, RECENT_RUNS) if PLAN_FLOW in engine.flows else []
        view = plan_view(
            engine.context.get("global", PLAN_KEY),
            engine.clock.time(),
            zone,
            runs,
            replan_status(engine),
        )
        if view is None:
            shown = [_run(run, zone) for run in runs]
            return JSONResponse({"error": NO_PLAN, "runs": shown}, status_code=404)
        return JSONResponse(view)

    async def targets(request: Request) -> Response:
        """The one-off SOC targets still to come; POST one ``{soc, by, day, hard,
        shortfall_price, name}`` (times in the site's zone): 201 with it as stored, 422
        naming each field at fault (a time already past among them)."""
        engine = service.engine
        zone = site_zone(engine.timezone)
        now = engine.clock.time()
        if request.method == "POST":
            try:
                body = await read_json(request)
            except ValueError:
                body = None
            # A signed-in browser is the web page; an API token (no session) a script.
            source = "ui" if request.scope.get("state", {}).get("session") else "api"
            try:
                stored = one_off.add_target(engine.context, now, engine.settings, body, source)
            except InvalidTarget as exc:
                problems = [p.as_dict() for p in exc.problems]
                return JSONResponse(
                    {"error": "SOC target refused", "problems": problems}, status_code=422
                )
            return JSONResponse(target_view(stored, zone), status_code=201)
        kept = one_off.pending(engine.context.get("global", one_off.TARGETS_KEY), now)
        return JSONResponse(
            {"timezone": str(zone), "targets": [target_view(t, zone) for t in kept]}
        )

    async def target(request: Request) -> Response:
        """DELETE a one-off SOC target by its id: the plan flow plans again without it."""
        engine = service.engine
        dropped = one_off.cancel_target(
            engine.context, request.path_params["target_id"], engine.clock.time()
        )
        if dropped is None:
            return JSONResponse({"error": "no SOC target with that id"}, status_code=404)
        return JSONResponse({"cancelled": target_view(dropped, site_zone(engine.timezone))})

    return [
        Route("/plan", page),
        Route("/api/plan", plan),
        Route("/api/targets", targets, methods=["GET", "POST"]),
        Route("/api/targets/{target_id}", target, methods=["DELETE"]),
    ]


def target_view(target: Mapping[str, Any], zone: tzinfo) -> dict[str, Any]:
    """A one-off SOC target as stored, its times in the site's zone."""
    return {
        **target,
        "by": local_iso(float(target["at"]), zone),
        "set_at": local_iso(float(target["set_at"]), zone),
    }


def plan_view(
    plan: Any,
    now: float,
    zone: tzinfo,
    runs: Sequence[Mapping[str, Any]] = (),
    replan: Mapping[str, Any] | None = None,
) -> dict[str, Any] | None:
    """A stored plan (``Plan.to_dict`` and what the planner node adds) for people to read;
    None when there is no plan with slots."""
    if not isinstance(plan, Mapping) or not plan.get("slots"):
        return None
    starts = [datetime.fromisoformat(slot["start"]).timestamp() for slot in plan["slots"]]
    step = starts[1] - starts[0] if len(starts) > 1 else DEFAULT_SLOT_S
    built_from: Mapping[str, Any] = plan.get("built_from") or {}
    running = _loads_by_slot(plan.get("deferrable") or {})
    flexible = [f for f in plan.get("flexible") or [] if isinstance(f, Mapping)]
    for entry in flexible:  # "car 7.2 kW" in each slot the plan runs it
        for index, power in enumerate(entry.get("power_w") or []):
            if power > 0:
                running.setdefault(index, []).append(f"{entry['name']} {power / 1000:.1f} kW")
    soc = built_from.get("soc")
    slots = []
    current = None
    for index, (slot, start) in enumerate(zip(plan["slots"], starts, strict=True)):
        if start <= now < start + step:
            current = index
        slots.append(
            {
                "index": index,
                "at": start,
                "start": local_iso(start, zone),
                "end": local_iso(start + step, zone),
                "mode": slot["mode"],
                "power_w": slot["power_w"],
                "battery_w": slot.get("battery_w"),
                "soc_start": soc,
                "soc_end": slot["soc_end"],
                "import_price": slot["import_price"],
                "export_price": slot["export_price"],
                "pv_w": slot.get("pv_w"),
                "load_w": slot.get("load_w"),
                "grid_import_w": slot.get("grid_import_w"),
                "grid_export_w": slot.get("grid_export_w"),
                "cost": slot["cost"],
                "reason": slot["reason"],
                "held_by": slot.get("held_by"),
                "loads": running.get(index, []),
            }
        )
        soc = slot["soc_end"]
    created = datetime.fromisoformat(plan["created_at"]).timestamp()
    trigger = built_from.get("trigger")
    ahead = slots[current:] if current is not None else [s for s in slots if s["at"] > now]
    return {
        "now": local_iso(now, zone),
        "now_at": now,
        "timezone": str(zone),
        "created_at": local_iso(created, zone),
        "created": created,
        "age_s": max(0.0, now - created),
        "trigger": trigger,
        "why": why(trigger),
        "expected_cost": round(sum(float(s["cost"]) for s in slots), 2),
        "expected_cost_ahead": round(sum(float(s["cost"]) for s in ahead), 2),
        "objective": plan.get("objective"),
        "solver": plan.get("solver"),
        "status": plan.get("status"),
        "solve_ms": plan.get("solve_ms"),
        "build_ms": plan.get("build_ms"),
        "built_from": dict(built_from),
        "slot_seconds": step,
        "current": current,
        "slots": slots,
        "runs": [_run(run, zone) for run in runs],
        "replan": None if replan is None else dict(replan),
        "targets": [_target(target, zone) for target in plan.get("targets") or []],
        "demand": [dict(charge) for charge in plan.get("demand") or []],
        "flexible": [_flexible(entry, zone) for entry in flexible],
        "config_problems": list(plan.get("config_problems") or []),
    }


def _target(target: Mapping[str, Any], zone: tzinfo) -> dict[str, Any]:
    """A SOC target as the plan meets it, its time in the site's zone (``TargetResult``)."""
    at = datetime.fromisoformat(target["by"]).timestamp()
    return {**target, "by": local_iso(at, zone), "by_at": at}


def _flexible(entry: Mapping[str, Any], zone: tzinfo) -> dict[str, Any]:
    """A flexible load as the plan places it, its deadline in the site's zone."""
    found = {k: v for k, v in entry.items() if k != "power_w"}
    deadline = entry.get("deadline")
    if isinstance(deadline, str):
        found["deadline"] = local_iso(datetime.fromisoformat(deadline).timestamp(), zone)
    return found


def why(trigger: Any) -> str:
    """Why the plan flow ran, in words, from its run's trigger label."""
    if not isinstance(trigger, str) or not trigger:
        return "not recorded"
    if trigger == "start":
        return "built at start-up"
    if trigger == "manual":
        return "run by hand"
    interval = re.fullmatch(r"interval (\d+(?:\.\d+)?)s", trigger)
    if interval:
        return f"the regular rebuild, every {_duration(float(interval[1]))}"
    asked = re.fullmatch(r"(.*) \(from (\S+)\)", trigger)
    if asked:
        flow = asked[2]
        if flow == REPLAN_FLOW:
            return f"re-planned: {asked[1]}"
        return f"{asked[1]} (the {flow} flow asked)"
    if trigger.startswith("flow "):
        return f"the {trigger[5:]} flow asked"
    if trigger.startswith("cron "):
        return f"on its schedule ({trigger[5:]})"
    if trigger.startswith("context "):
        return f"{trigger[8:]} changed"
    return trigger


def replan_status(engine: Engine) -> dict[str, Any] | None:
    """What the re-plan check said last ("plan holds", or why it asked for a new plan)."""
    flow = engine.flows.get(REPLAN_FLOW)
    if flow is None:
        return None
    for node in flow.nodes.values():
        if node.spec.type == "planning.replan_check" and node.status.get("at") is not None:
            zone = site_zone(engine.timezone)
            status = node.status
            return {
                "text": status["text"],
                "state": status["state"],
                "at": local_iso(float(status["at"]), zone),
            }
    return None


def _run(run: Mapping[str, Any], zone: tzinfo) -> dict[str, Any]:
    started, finished = run.get("started"), run.get("finished")
    return {
        "run_id": run.get("run_id"),
        "started": None if started is None else local_iso(float(started), zone),
        "finished": None if finished is None else local_iso(float(finished), zone),
        "trigger": run.get("trigger"),
        "why": why(run.get("trigger")),
        "outcome": run.get("outcome"),
        "error": run.get("error"),
    }


def _loads_by_slot(deferrable: Mapping[str, Any]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for name, indices in deferrable.items():
        for index in indices or ():
            found.setdefault(int(index), []).append(str(name))
    return found


def _duration(seconds: float) -> str:
    if seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"
