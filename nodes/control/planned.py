"""Overrides set ahead ("force charge 3 kW next Tuesday 17:00-19:00"), kept in the global
context key ``planned_overrides`` until their window opens.

Each is an override as ``checked_override`` makes it, with its ``from`` (epoch
seconds) and an ``id``; the list is sorted by ``from`` and no two windows overlap. When
a window opens, ``start_due`` (the ``control.override`` node, ``action: start_planned``,
run by flows/overrides.yaml at ``global.planned_overrides.0.from``) makes it the
override in force (``global.override``, replacing one in force then), and the control
tick acts on it by its own triggers; one whose window has passed is dropped. The
plan holds the slots each covers (nodes/planning/held.py), so it never plans against
one.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo
from typing import Any

from flowengine.context import GLOBAL, ContextStore
from flowengine.node import ContextScope
from nodes.control.decision import MODES
from nodes.control.override_rules import OVERRIDE_KEY, InvalidOverride, Problem, checked_override
from nodes.core.wallclock import parse_moment, site_zone

PLANNED_KEY = "planned_overrides"
#: Overrides kept ahead at once.
MAX_PLANNED = 20


def checked_request(
    now: float,
    settings: Mapping[str, Any],
    mode: Any,
    power_w: Any,
    *,
    duration: Any = None,
    until: Any = None,
    start: Any = None,
    source: str = "api",
    reason: Any = None,
) -> dict[str, Any]:
    """The override a request asks for, as ``checked_override`` makes it; ``start`` (its
    ``from``) and ``until`` are ISO 8601 (the site's wall time unless they give an
    offset) or epoch seconds. ``InvalidOverride`` names each field that is wrong."""
    zone = _zone(settings)
    problems: list[Problem] = []
    begin = _moment(start, "from", zone, problems)
    end = _moment(until, "until", zone, problems)
    if until is not None and duration is not None:
        problems.append(Problem("until", "give duration or until, not both"))
    try:
        override = checked_override(
            now,
            settings,
            mode,
            power_w,
            None if end is not None else duration,
            source,
            reason,
            until=end,
            start=begin,
        )
    except InvalidOverride as exc:
        # Without its from, whether its until is too late is not known: not said.
        later = [
            p for p in exc.problems if begin is not None or start is None or p.field != "until"
        ]
        raise InvalidOverride([*problems, *later]) from None
    if problems:
        raise InvalidOverride(problems)
    return override


def set_or_plan_override(
    context: ContextStore | ContextScope,
    now: float,
    settings: Mapping[str, Any],
    mode: Any,
    power_w: Any,
    *,
    duration: Any = None,
    until: Any = None,
    start: Any = None,
    source: str = "api",
    reason: Any = None,
) -> dict[str, Any]:
    """Check an override (``checked_request``) and store it: in force from now
    (``global.override``) or, with a ``start`` still to come, planned
    (``global.planned_overrides``, with its ``id``). ``InvalidOverride`` names each field
    that is wrong, a window overlapping one already planned too."""
    override = checked_request(
        now,
        settings,
        mode,
        power_w,
        duration=duration,
        until=until,
        start=start,
        source=source,
        reason=reason,
    )
    if "from" not in override:
        _set(context, OVERRIDE_KEY, override)
        return override
    kept = planned(_get(context, PLANNED_KEY), now)
    zone = _zone(settings)
    for other in kept:
        if override["from"] < other["until"] and other["from"] < override["until"]:
            raise InvalidOverride(
                [
                    Problem(
                        "from",
                        f"overlaps the override planned for {window(other, zone)}: "
                        "cancel that one first",
                    )
                ]
            )
    if len(kept) >= MAX_PLANNED:
        raise InvalidOverride(
            [Problem("from", f"at most {MAX_PLANNED} overrides are kept ahead: cancel one")]
        )
    override = {"id": secrets.token_hex(4), **override}
    _set(context, PLANNED_KEY, sorted([*kept, override], key=lambda o: o["from"]))
    return override


def cancel_planned(
    context: ContextStore | ContextScope, override_id: Any, now: float
) -> dict[str, Any] | None:
    """Drop the planned override ``override_id``; the one dropped, or None."""
    stored = _get(context, PLANNED_KEY)
    kept = planned(stored, now)
    found = next((o for o in kept if o.get("id") == override_id), None)
    remaining = [o for o in kept if o.get("id") != override_id]
    if found is not None or len(remaining) != len(stored or []):
        _set(context, PLANNED_KEY, remaining)
    return found


def start_due(context: ContextStore | ContextScope, now: float) -> dict[str, Any] | None:
    """Make the planned override whose window holds ``now`` the override in force, and
    drop those whose window has passed; the one started, if any."""
    stored = _get(context, PLANNED_KEY)
    kept = planned(stored, now)
    due = [o for o in kept if o["from"] <= now]
    remaining = [o for o in kept if o["from"] > now]
    if len(remaining) != len(stored or []):
        _set(context, PLANNED_KEY, remaining)
    if not due:
        return None
    started = due[-1]
    _set(context, OVERRIDE_KEY, started)
    return started


def planned(value: Any, now: float) -> list[dict[str, Any]]:
    """The planned overrides (a ``global.planned_overrides`` value, maybe None or
    malformed) whose window has not yet passed at ``now``, by ``from``."""
    if not isinstance(value, Sequence) or isinstance(value, str):
        return []
    found = [
        dict(o)
        for o in value
        if isinstance(o, Mapping)
        and o.get("mode") in MODES
        and _time(o.get("from"))
        and _time(o.get("until"))
        and float(o["until"]) > now
    ]
    return sorted(found, key=lambda o: float(o["from"]))


def window(override: Mapping[str, Any], zone: tzinfo) -> str:
    """``Tue 15 Dec 17:00-19:00``: an override's window in the site's wall time."""
    start = datetime.fromtimestamp(float(override["from"]), zone)
    end = datetime.fromtimestamp(float(override["until"]), zone)
    last = end.strftime("%H:%M") if end.date() == start.date() else end.strftime("%a %d %b %H:%M")
    return f"{start.strftime('%a %d %b %H:%M')}-{last}"


def _zone(settings: Mapping[str, Any]) -> tzinfo:
    return site_zone(str((settings.get("site") or {}).get("timezone") or "UTC"))


def _moment(value: Any, field: str, zone: tzinfo, problems: list[Problem]) -> float | None:
    if value is None:
        return None
    try:
        return parse_moment(value, zone)
    except ValueError as exc:
        problems.append(Problem(field, str(exc)))
        return None


def _time(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _get(context: ContextStore | ContextScope, key: str) -> Any:
    if isinstance(context, ContextStore):
        return context.get(GLOBAL, key)
    return context.get(key)


def _set(context: ContextStore | ContextScope, key: str, value: Any) -> None:
    if isinstance(context, ContextStore):
        context.set(GLOBAL, key, value)
    else:
        context.set(key, value)
