"""One-off SOC targets ("80 % by 16:00 today, hard") set from the web API and Home
Assistant, kept in the global context key ``soc_targets`` so they survive a restart.

Each is stored as the ``planner.soc_targets`` rule it stands for (``soc``, ``by``,
``date``, ``hard``, ``shortfall_price``, ``name``: nodes.planning.targets.one_off_rule)
with its ``id``, the moment it asks for (``at``, epoch seconds), who set it
(``source``) and when (``set_at``). The plan flow's ``planning.plan`` reads them
(``targets_key``); one whose time has passed is dropped at the next change and never
planned for. A request is checked field by field, each problem naming its field, so
the API and Home Assistant answer with the same located messages; a time already
past is refused, never kept to be silently left out.
"""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from flowengine.context import GLOBAL, ContextStore
from flowengine.errors import FieldProblem, InvalidRequest
from flowengine.node import ContextScope
from nodes.core.wallclock import parse_minute, parse_moment, site_zone
from nodes.planning.targets import RULE_SCHEMA, one_off_rule

TARGETS_KEY = "soc_targets"
#: What a request may say; ``soc`` and ``by`` are required.
FIELDS = ("soc", "by", "day", "hard", "shortfall_price", "name")
#: How far ahead a target may be set (the plan looks 48 h ahead; the rest waits).
MAX_AHEAD_DAYS = 14
#: One-off targets kept at once.
MAX_TARGETS = 20
MAX_NAME_CHARS = 60
#: What a target set without a name is called in the plan.
DEFAULT_NAME = "one-off"
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):[0-5]\d$")
#: The keys of a stored target that are its planner rule.
RULE_KEYS = tuple(RULE_SCHEMA["properties"])


class InvalidTarget(InvalidRequest):
    """A refused SOC target; ``problems`` says what is wrong with which field."""


def add_target(
    context: ContextStore | ContextScope,
    now: float,
    settings: Mapping[str, Any],
    request: Any,
    source: str = "api",
) -> dict[str, Any]:
    """Check ``request`` (``{soc, by, day, hard, shortfall_price, name}``), add it to
    ``global.soc_targets`` (dropping those past) and return it as stored."""
    zone = site_zone(str((settings.get("site") or {}).get("timezone") or "UTC"))
    kept = pending(_get(context), now)
    target = checked_target(request, now, zone, source)
    if len(kept) >= MAX_TARGETS:
        raise InvalidTarget(
            [FieldProblem("", f"at most {MAX_TARGETS} one-off targets are kept: cancel one")]
        )
    _set(context, sorted([*kept, target], key=lambda t: (t["at"], t["id"])))
    return target


def cancel_target(
    context: ContextStore | ContextScope, target_id: Any, now: float
) -> dict[str, Any] | None:
    """Drop the target ``target_id``; the one dropped, or None if none such is to come."""
    stored = _get(context)
    alive = pending(stored, now)
    found = next((t for t in alive if t.get("id") == target_id), None)
    kept = [t for t in alive if t.get("id") != target_id]
    if found is not None or len(kept) != len(stored):
        _set(context, kept)
    return found


def replace_from(
    context: ContextStore | ContextScope,
    now: float,
    settings: Mapping[str, Any],
    request: Any,
    source: str,
) -> dict[str, Any]:
    """Set the one target ``source`` keeps (Home Assistant's): any other it set is dropped."""
    zone = site_zone(str((settings.get("site") or {}).get("timezone") or "UTC"))
    target = checked_target(request, now, zone, source)
    others = [t for t in pending(_get(context), now) if t.get("source") != source]
    _set(context, sorted([*others, target], key=lambda t: (t["at"], t["id"])))
    return target


def clear_from(
    context: ContextStore | ContextScope, source: str, now: float
) -> list[dict[str, Any]]:
    """Drop every target ``source`` set; those dropped."""
    alive = pending(_get(context), now)
    dropped = [t for t in alive if t.get("source") == source]
    if dropped:
        _set(context, [t for t in alive if t.get("source") != source])
    return dropped


def pending(value: Any, now: float) -> list[dict[str, Any]]:
    """The stored targets (a ``global.soc_targets`` value, maybe None or malformed) whose
    time is still to come."""
    if not isinstance(value, list):
        return []
    return [
        dict(t)
        for t in value
        if isinstance(t, Mapping) and _number(t.get("at")) and float(t["at"]) > now
    ]


def rules(value: Any, now: float) -> list[dict[str, Any]]:
    """The ``planner.soc_targets`` rules of the targets still to come, for the planner."""
    return [{k: t[k] for k in RULE_KEYS if k in t} for t in pending(value, now)]


def checked_target(request: Any, now: float, zone: tzinfo, source: str) -> dict[str, Any]:
    """The target to store for ``request``, or ``InvalidTarget`` naming each field."""
    if not isinstance(request, Mapping):
        raise InvalidTarget(
            [FieldProblem("", 'a target is a JSON object like {"soc": 0.8, "by": "16:00"}')]
        )
    problems = [
        FieldProblem(str(key), f"is not a field of a SOC target ({', '.join(FIELDS)})")
        for key in request
        if key not in FIELDS
    ]
    soc = _soc(request.get("soc"), problems)
    at = _when(request.get("by"), request.get("day"), now, zone, problems)
    hard = request.get("hard", False)
    if not isinstance(hard, bool):
        problems.append(FieldProblem("hard", f"must be true or false, not {hard!r}"))
    price = request.get("shortfall_price")
    if price is not None:
        if not _number(price) or price < 0:
            problems.append(FieldProblem("shortfall_price", f"must be $/kWh, 0 or more: {price!r}"))
        elif hard is True:
            problems.append(
                FieldProblem(
                    "shortfall_price",
                    "is for soft targets: a hard one is held wherever the battery can reach it",
                )
            )
    name = request.get("name") or DEFAULT_NAME
    if not isinstance(name, str) or len(name) > MAX_NAME_CHARS:
        problems.append(
            FieldProblem("name", f"must be text of at most {MAX_NAME_CHARS} characters")
        )
    if problems or at is None or soc is None:
        raise InvalidTarget(problems)
    rule = one_off_rule(
        soc,
        datetime.fromtimestamp(at, zone),
        zone,
        hard=bool(hard),
        shortfall_price=None if price is None else float(price),
        name=str(name).strip(),
    )
    return {
        "id": secrets.token_hex(4),
        **rule,
        "at": at,
        "source": source,
        "set_at": now,
    }


def next_at(clock_time: str, now: float, zone: tzinfo) -> float:
    """The next moment the wall clock in ``zone`` reads ``clock_time`` ("16:00") after
    ``now``: today's if it is still to come, else tomorrow's (Home Assistant's "by")."""
    minute = parse_minute(clock_time)
    today = datetime.fromtimestamp(now, zone).date()
    for day in (today, today + timedelta(days=1)):
        at = _on(day, minute, zone)
        if at > now:
            return at
    return _on(today + timedelta(days=2), minute, zone)


def _on(day: date, minute: int, zone: tzinfo) -> float:
    midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
    return (midnight + timedelta(minutes=minute)).timestamp()


def _soc(value: Any, problems: list[FieldProblem]) -> float | None:
    if value is None:
        problems.append(FieldProblem("soc", "is required: a fraction from 0 to 1 (0.8 for 80 %)"))
        return None
    if not _number(value) or not 0 <= value <= 1:
        problems.append(
            FieldProblem("soc", f"must be a fraction from 0 to 1 (0.8 for 80 %), not {value!r}")
        )
        return None
    return float(value)


def _when(
    by: Any, day: Any, now: float, zone: tzinfo, problems: list[FieldProblem]
) -> float | None:
    """``by`` ("16:00" on ``day``: today, tomorrow or a date; or ISO 8601) as epoch seconds,
    still to come and at most MAX_AHEAD_DAYS ahead."""
    if by is None:
        problems.append(FieldProblem("by", 'is required: "16:00" (with day) or 2026-12-08T16:00'))
        return None
    if isinstance(by, str) and _CLOCK.match(by.strip()):
        on = _day(day, now, zone, problems)
        if on is None:
            return None
        at = _on(on, parse_minute(by.strip()), zone)
    else:
        if day is not None:
            problems.append(FieldProblem("day", 'goes with a time of day ("16:00") only'))
        try:
            at = parse_moment(by, zone)
        except ValueError as exc:
            problems.append(FieldProblem("by", str(exc)))
            return None
    local = datetime.fromtimestamp(at, zone).strftime("%a %d %b %Y %H:%M %Z")
    if at <= now:
        problems.append(
            FieldProblem("by", f"{local} is past: give a time still to come (day: tomorrow)")
        )
        return None
    if at > now + MAX_AHEAD_DAYS * 86400:
        problems.append(FieldProblem("by", f"{local} is more than {MAX_AHEAD_DAYS} days ahead"))
        return None
    return at


def _day(value: Any, now: float, zone: tzinfo, problems: list[FieldProblem]) -> date | None:
    today = datetime.fromtimestamp(now, zone).date()
    if value is None or value == "today":
        return today
    if value == "tomorrow":
        return today + timedelta(days=1)
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        problems.append(
            FieldProblem("day", f"must be today, tomorrow or a date (2026-12-08), not {value!r}")
        )
        return None


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _get(context: ContextStore | ContextScope) -> list[Any]:
    value = (
        context.get(GLOBAL, TARGETS_KEY)
        if isinstance(context, ContextStore)
        else context.get(TARGETS_KEY)
    )
    return list(value) if isinstance(value, Sequence) and not isinstance(value, str) else []


def _set(context: ContextStore | ContextScope, value: list[dict[str, Any]]) -> None:
    if isinstance(context, ContextStore):
        context.set(GLOBAL, TARGETS_KEY, value)
    else:
        context.set(TARGETS_KEY, value)
