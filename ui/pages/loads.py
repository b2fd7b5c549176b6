"""The loads page: each controllable load's state, its day and plan, and manual on/off.

``GET /loads`` is the page; ``GET /api/loads/view`` every configured load (the
site config's ``loads``) as the page shows it: what the loads flow last found
and decided (``global.loads``), the manual command in force
(``global.load_commands``), this run day's window and run time, and the runs
the plan (``global.plan``) has placed for it. Commands go through the existing
``POST /api/loads``, the path Home Assistant's switches take too.
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
from nodes.loads import active_commands, load_configs, run_today
from nodes.loads.commands import COMMANDS_KEY, LOADS_KEY
from nodes.loads.settings import InvalidLoads, LoadConfig, zone_of
from nodes.loads.window import day_start_minute, occurrence, run_day_start
from ui.service import Service

PLAN_KEY = "plan"
DEFAULT_SLOT_S = 1800.0
#: Where people read how to add a load.
HOW_TO_ADD = "README.md, section 'Point it at a real inverter', step 6: Controllable loads"


def routes(service: Service, templates: Jinja2Templates) -> list[BaseRoute]:
    async def page(request: Request) -> Response:
        return templates.TemplateResponse(request, "loads.html", {"title": "Loads"})

    async def view(request: Request) -> Response:
        engine = service.engine
        context = engine.context
        return JSONResponse(
            loads_view(
                engine.settings,
                context.get("global", LOADS_KEY),
                context.get("global", COMMANDS_KEY),
                context.get("global", PLAN_KEY),
                engine.clock.time(),
            )
        )

    return [Route("/loads", page), Route("/api/loads/view", view)]


def loads_view(
    settings: Mapping[str, Any], records: Any, commands: Any, plan: Any, now: float
) -> dict[str, Any]:
    """Every configured load for people to read; ``problem`` says why none can be shown."""
    zone = zone_of(settings)
    base: dict[str, Any] = {
        "now": local_iso(now, zone),
        "now_at": now,
        "timezone": str(zone),
        "how_to_add": HOW_TO_ADD,
    }
    try:
        configs = load_configs(settings)
    except InvalidLoads as exc:
        return {**base, "loads": [], "problem": f"the loads section is not valid: {exc}"}
    records = records if isinstance(records, Mapping) else {}
    stored = commands if isinstance(commands, Mapping) else {}
    active = active_commands(stored, now)
    ran = run_today(records, settings, now)
    runs = _planned_runs(plan, now)
    shown = []
    for load_id, config in configs.items():
        record = records.get(load_id)
        record = record if isinstance(record, Mapping) else {}
        command = stored.get(load_id) if load_id in active else None
        shown.append(
            {
                **_settings(config, now, zone),
                "state": record.get("state", "unknown"),
                "on": record.get("on"),
                "power_w": record.get("power_w"),
                "reason": record.get("reason")
                or ("the loads flow has not run yet" if not record else ""),
                "available": record.get("available"),
                "last_error": record.get("last_error"),
                "run_today_s": ran.get(load_id, 0.0),
                "command": None if command is None else _command(command, zone),
                "planned": [
                    {"start": local_iso(a, zone), "end": local_iso(b, zone), "at": a, "until": b}
                    for a, b in runs.get(load_id, [])
                ],
            }
        )
    return {**base, "loads": shown, "problem": None}


def _settings(config: LoadConfig, now: float, zone: tzinfo) -> dict[str, Any]:
    """What a load is set to do (never its password), and this run day's window."""
    day = run_day_start(now, zone, day_start_minute(config.window))
    begin, end = occurrence(config.window, day, zone)
    return {
        "id": config.id,
        "name": config.name,
        "device": config.where,
        "adapter": config.adapter,
        "rated_w": config.power_w,
        "priority": config.priority,
        "prefer_solar": config.prefer_solar,
        "planned_load": config.planned,
        "run_time_s": config.run_time_s,
        "min_run_s": config.min_run_s,
        "window": None if config.window is None else str(config.window),
        "day": {
            "start": local_iso(begin, zone),
            "end": local_iso(end, zone),
            "at": begin,
            "until": end,
        },
    }


def _command(entry: Mapping[str, Any], zone: tzinfo) -> dict[str, Any]:
    until, set_at = entry.get("until"), entry.get("set_at")
    return {
        "command": entry.get("command"),
        "until": None if until is None else local_iso(float(until), zone),
        "source": entry.get("source"),
        "set_at": None if set_at is None else local_iso(float(set_at), zone),
    }


def _planned_runs(plan: Any, now: float) -> dict[str, list[tuple[float, float]]]:
    """Each load's runs in the plan that have not ended, consecutive slots joined."""
    if not isinstance(plan, Mapping):
        return {}
    try:
        starts = [
            datetime.fromisoformat(slot["start"]).timestamp() for slot in plan.get("slots") or ()
        ]
        deferrable = {
            str(name): sorted(int(i) for i in indices)
            for name, indices in (plan.get("deferrable") or {}).items()
        }
    except (KeyError, TypeError, ValueError, AttributeError):
        return {}
    if not starts:
        return {}
    step = starts[1] - starts[0] if len(starts) > 1 else DEFAULT_SLOT_S
    found: dict[str, list[tuple[float, float]]] = {}
    for name, indices in deferrable.items():
        spans: list[tuple[float, float]] = []
        for index in indices:
            if not 0 <= index < len(starts):
                continue
            begin = starts[index]
            if spans and spans[-1][1] == begin:
                spans[-1] = (spans[-1][0], begin + step)
            else:
                spans.append((begin, begin + step))
        found[name] = [(a, b) for a, b in spans if b > now]
    return found
