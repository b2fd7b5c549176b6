"""One-off targets for a flexible load ("the car at 90 % by 06:00 tomorrow"), set from the
web API and Home Assistant, kept in ``global.flexible_targets`` by load id.

A one-off target replaces the load's configured target for its next deadline and is
forgotten once its time has passed. A request is checked field by field, each problem
naming its field (a time already past is refused, never kept to be silently ignored).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from flowengine.context import GLOBAL, ContextStore
from flowengine.errors import FieldProblem, InvalidRequest
from flowengine.node import ContextScope
from nodes.core.wallclock import parse_minute, parse_moment, site_zone
from nodes.flexible.settings import flexible_configs
from nodes.loads.window import local_time

TARGETS_KEY = "flexible_targets"
FIELDS = ("soc", "energy_kwh", "by")
#: How far ahead a one-off target may be set.
MAX_AHEAD_S = 7 * 86400.0
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):[0-5]\d$")
_LOOKS_LIKE_CLOCK = re.compile(r"^\d{1,2}:\d{2}$")


class InvalidFlexibleTarget(InvalidRequest):
    """A refused one-off target; ``problems`` says what is wrong with which field."""


class UnknownFlexibleLoad(InvalidFlexibleTarget):
    """A target for a load site.yaml does not have."""


def set_target(
    context: ContextStore | ContextScope,
    now: float,
    settings: Mapping[str, Any],
    load_id: str,
    request: Any,
    source: str = "api",
) -> dict[str, Any]:
    """Check ``request`` (``{soc | energy_kwh, by}``), store it for ``load_id`` and
    return it as stored."""
    configs = flexible_configs(settings)
    if load_id not in configs:
        known = ", ".join(configs) or "none configured"
        raise UnknownFlexibleLoad([FieldProblem("", f"no flexible load {load_id!r} ({known})")])
    zone = site_zone(str((settings.get("site") or {}).get("timezone") or "UTC"))
    if not isinstance(request, Mapping):
        example = '{"soc": 0.9, "by": "06:00"}'
        raise InvalidFlexibleTarget([FieldProblem("", f"a target is a JSON object like {example}")])
    problems = [
        FieldProblem(str(key), f"is not a field of a target ({', '.join(FIELDS)})")
        for key in request
        if key not in FIELDS
    ]
    given = [key for key in ("soc", "energy_kwh") if request.get(key) is not None]
    if not given:
        problems.append(FieldProblem("soc", "is required, or energy_kwh: what it needs by then"))
    elif len(given) == 2:
        problems.append(FieldProblem("energy_kwh", "give soc or energy_kwh, not both"))
    soc, energy = request.get("soc"), request.get("energy_kwh")
    if soc is not None and (not _number(soc) or not 0 < soc <= 1):
        problems.append(FieldProblem("soc", f"must be a fraction above 0 up to 1, not {soc!r}"))
    if soc is not None and configs[load_id].battery_kwh is None:
        problems.append(FieldProblem("soc", f"{load_id} has no battery_kwh: give energy_kwh"))
    most = configs[load_id].max_w / 1000.0 * 24.0
    if energy is not None and (not _number(energy) or energy < 0):
        problems.append(FieldProblem("energy_kwh", f"must be kWh, 0 or more, not {energy!r}"))
    elif energy is not None and energy > most:
        problems.append(
            FieldProblem("energy_kwh", f"{energy} kWh is more than a day at its max_w ({most:g})")
        )
    at = _when(request.get("by"), now, zone, problems)
    if problems or at is None:
        raise InvalidFlexibleTarget(problems)
    stored = {"by": at, "source": source, "set_at": now}
    stored.update({"soc": float(soc)} if soc is not None else {"energy_kwh": float(energy or 0)})
    kept = pending(_get(context), now)
    _set(context, {**kept, load_id: stored})
    if load_id in kept:
        return {**stored, "replaced": kept[load_id]}
    return stored


def cancel_target(
    context: ContextStore | ContextScope, load_id: str, now: float
) -> dict[str, Any] | None:
    """Drop ``load_id``'s one-off target; the one dropped, or None if it had none to come."""
    alive = pending(_get(context), now)
    dropped = alive.pop(load_id, None)
    _set(context, alive)
    return dropped


def pending(value: Any, now: float) -> dict[str, dict[str, Any]]:
    """The stored one-off targets whose time is still to come, by load id."""
    if not isinstance(value, Mapping):
        return {}
    return {
        str(load_id): dict(t)
        for load_id, t in value.items()
        if isinstance(t, Mapping) and _number(t.get("by")) and float(t["by"]) > now
    }


def _when(value: Any, now: float, zone: Any, problems: list[FieldProblem]) -> float | None:
    """``by`` as epoch seconds: "HH:MM" (the next time the clock reads it) or a moment."""
    if value is None:
        problems.append(FieldProblem("by", 'is required: "06:00" or 2026-12-08T06:00'))
        return None
    try:
        if isinstance(value, str) and _LOOKS_LIKE_CLOCK.match(value.strip()):
            if not _CLOCK.match(value.strip()):
                raise ValueError(f"{value!r} is not a time of day: HH:MM from 00:00 to 23:59")
            minute = parse_minute(value.strip())
            today = datetime.fromtimestamp(now, zone).date()
            moment = local_time(today, minute, zone)
            if moment <= now:  # the next time the clock reads it: tomorrow's
                moment = local_time(today + timedelta(days=1), minute, zone)
        else:
            moment = parse_moment(value, zone)
    except ValueError as exc:
        problems.append(FieldProblem("by", str(exc)))
        return None
    if moment <= now:
        when = datetime.fromtimestamp(moment, zone).strftime("%a %d %b %H:%M")
        problems.append(FieldProblem("by", f"{when} has passed"))
        return None
    if moment - now > MAX_AHEAD_S:
        problems.append(FieldProblem("by", "is more than 7 days ahead"))
        return None
    return moment


def _get(context: ContextStore | ContextScope) -> Any:
    if isinstance(context, ContextStore):
        return context.get(GLOBAL, TARGETS_KEY)
    return context.get(TARGETS_KEY)


def _set(context: ContextStore | ContextScope, value: dict[str, Any]) -> None:
    if isinstance(context, ContextStore):
        context.set(GLOBAL, TARGETS_KEY, value)
    else:
        context.set(TARGETS_KEY, value)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
