"""The user's manual override: a mode and power for a while, ending by itself.

It lives in the global context key ``override`` as ``{mode, power_w, until,
set_at, source, reason}`` (epoch seconds; ``from`` and ``id`` too when it was set
ahead: nodes/control/planned.py keeps those until then), so the control hierarchy reads it
like any other input and it survives a restart. Whatever it asks for still
passes ``enforce_limits``; here only absurd requests (beyond what the battery
can do at all, a duration past the cap) are refused, each problem naming its
field, so the API and MQTT can answer with the same located messages.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any

from flowengine.clock import Clock
from flowengine.context import GLOBAL, ContextStore, Scope
from flowengine.durations import parse_duration
from flowengine.errors import FieldProblem, InvalidRequest
from nodes.control.decision import MODES
from nodes.core.wallclock import site_zone

OVERRIDE_KEY = "override"
SOURCES = ("api", "ui", "mqtt", "flow")
#: Who set an override, as a reason names them.
SOURCE_NAMES = {"api": "the API", "ui": "the web page", "mqtt": "Home Assistant", "flow": "a flow"}
#: The longest override without a setting saying otherwise.
DEFAULT_MAX_DURATION = "24h"
MAX_REASON_CHARS = 200
#: How far in the past a ``from`` may be (clocks differ a little) and still mean "now";
#: earlier is refused rather than started late for its whole length.
PAST_GRACE_S = 300.0
#: How far ahead an override may be set to start (``from``).
MAX_AHEAD_DAYS = 14
MAX_AHEAD_S = MAX_AHEAD_DAYS * 86400.0


Problem = FieldProblem


class InvalidOverride(InvalidRequest):
    """A refused override; ``problems`` says what is wrong with which field."""


def set_override(
    context: ContextStore,
    clock: Clock,
    settings: Mapping[str, Any],
    mode: Any,
    power_w: Any,
    duration: Any,
    source: str = "api",
    reason: Any = None,
) -> dict[str, Any]:
    """Check the request, store it as ``global.override`` and return what was stored."""
    override = checked_override(clock.time(), settings, mode, power_w, duration, source, reason)
    context.set(GLOBAL, OVERRIDE_KEY, override)
    return override


def checked_override(
    now: float,
    settings: Mapping[str, Any],
    mode: Any,
    power_w: Any,
    duration: Any = None,
    source: str = "api",
    reason: Any = None,
    until: float | None = None,
    start: float | None = None,
) -> dict[str, Any]:
    """The override to store, from a ``duration`` or an ``until`` (epoch seconds), from
    ``start`` (epoch seconds; None or up to PAST_GRACE_S before ``now``: from now on; earlier
    is refused). One that starts
    later is stored with its ``from`` (nodes/control/planned.py keeps it until then).

    Raises ``InvalidOverride`` naming each field that is wrong: an override always ends."""
    problems: list[Problem] = []
    checked_mode = _mode(mode, problems)
    power = _power(power_w, checked_mode, settings, problems)
    if start is not None and start < now - PAST_GRACE_S:
        zone = site_zone(str((settings.get("site") or {}).get("timezone") or "UTC"))
        ago = datetime.fromtimestamp(start, zone).strftime("%a %d %b %H:%M")
        problems.append(Problem("from", f"is past ({ago}): leave it out to start now"))
    begin = now if start is None or start <= now else start
    if begin - now > MAX_AHEAD_S:
        problems.append(
            Problem("from", f"is {(begin - now) / 86400:.1f} days ahead: at most {MAX_AHEAD_DAYS}")
        )
    if until is not None and duration is None:
        field = "until"
        if until <= now:
            problems.append(Problem("until", "is not in the future"))
            seconds = 0.0
        else:
            seconds = _duration(until - begin, settings, problems, field=field)
    else:
        seconds = _duration(duration, settings, problems)
    if source not in SOURCES:
        problems.append(Problem("source", f"must be one of {', '.join(SOURCES)}, not {source!r}"))
    text = _reason(reason, problems)
    if problems:
        raise InvalidOverride(problems)
    override: dict[str, Any] = {
        "mode": checked_mode,
        "power_w": power,
        "until": begin + seconds,
        "set_at": now,
        "source": source,
        "reason": text or default_reason(source),
    }
    if begin > now:
        override["from"] = begin
    return override


def default_reason(source: str) -> str:
    """The reason an override is stored with when it was given none."""
    return f"manual override from {SOURCE_NAMES.get(source, source)}"


def describe(override: Mapping[str, Any], now: float, zone: tzinfo = UTC) -> str:
    """``force charge 3 kW for 1 h``: what an override does, in the owner's words (one set
    ahead: ``... from Tue 15 Dec 17:00 for 2 h``, in ``zone``)."""
    start = override.get("from")
    if isinstance(start, int | float) and _number(start) and start > now:
        at = datetime.fromtimestamp(start, zone).strftime("%a %d %b %H:%M")
        return describe({k: v for k, v in override.items() if k != "from"}, start).replace(
            " for ", f" from {at} for ", 1
        )
    mode = str(override.get("mode", "")).replace("_", " ")
    power = float(override.get("power_w") or 0.0)
    watts = (
        ""
        if mode in ("hold", "self use", "self use zero export") or power <= 0
        else (f" {power / 1000:g} kW" if power >= 1000 else f" {power:.0f} W")
    )
    minutes = max(0, round((float(override.get("until") or now) - now) / 60))
    hours, rest = divmod(minutes, 60)
    span = f"{hours} h {rest} min" if hours and rest else f"{hours} h" if hours else f"{rest} min"
    return f"{mode}{watts} for {span}"


def clear_override(context: ContextStore) -> dict[str, Any] | None:
    """End the override now; returns the one that was stored (expired or not), if any."""
    stored = context.get(GLOBAL, OVERRIDE_KEY)
    if stored is not None:
        context.set(GLOBAL, OVERRIDE_KEY, None)
    return stored if isinstance(stored, dict) else None


def active_override(
    context: ContextStore | Scope | Mapping[str, Any], now: float
) -> dict[str, Any] | None:
    """The stored override if it is still in force at ``now``; an expired one is not."""
    if isinstance(context, ContextStore):
        stored = context.get(GLOBAL, OVERRIDE_KEY)
    else:
        stored = context.get(OVERRIDE_KEY)
    return stored if is_active(stored, now) else None


def is_active(override: Any, now: float) -> bool:
    """Whether ``override`` (a stored value, maybe None or malformed) is in force at ``now``."""
    if not isinstance(override, Mapping) or override.get("mode") not in MODES:
        return False
    start = override.get("from")
    if isinstance(start, int | float) and _number(start) and start > now:
        return False  # set ahead: nodes/control/planned.py starts it
    until = override.get("until")
    return isinstance(until, int | float) and _number(until) and until > now


def max_duration_s(settings: Mapping[str, Any]) -> float:
    control = settings.get("control") or {}
    return parse_duration(control.get("override_max_duration", DEFAULT_MAX_DURATION))


def power_limit_w(mode: str | None, settings: Mapping[str, Any]) -> tuple[float, str]:
    """The most power ``mode`` can ask for at all, and what sets that limit."""
    battery = settings["battery"]
    charge, discharge = float(battery["max_charge_w"]), float(battery["max_discharge_w"])
    if mode == "force_charge":
        return charge, "the battery's charge limit"
    if mode == "force_discharge":
        return discharge, "the battery's discharge limit"
    return max(charge, discharge), "the battery's power limits"


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _mode(mode: Any, problems: list[Problem]) -> str | None:
    if mode is None:
        problems.append(Problem("mode", f"is required: one of {', '.join(MODES)}"))
        return None
    if mode not in MODES:
        problems.append(Problem("mode", f"must be one of {', '.join(MODES)}, not {mode!r}"))
        return None
    return str(mode)


def _power(
    power_w: Any, mode: str | None, settings: Mapping[str, Any], problems: list[Problem]
) -> float:
    if power_w is None:
        problems.append(Problem("power_w", "is required: watts, 0 or more"))
        return 0.0
    if not _number(power_w):
        problems.append(Problem("power_w", f"must be a number of watts, not {power_w!r}"))
        return 0.0
    if power_w < 0:
        problems.append(Problem("power_w", f"cannot be negative ({power_w} W)"))
        return 0.0
    limit, what = power_limit_w(mode, settings)
    if power_w > limit:
        problems.append(Problem("power_w", f"{power_w:g} W is beyond {what} ({limit:g} W)"))
    return float(power_w)


def _duration(
    duration: Any, settings: Mapping[str, Any], problems: list[Problem], field: str = "duration"
) -> float:
    if duration is None:
        problems.append(Problem(field, "is required: seconds, or text like 30m or 2h"))
        return 0.0
    if not (isinstance(duration, str) or _number(duration)):
        problems.append(Problem(field, f"must be seconds or text like 2h, not {duration!r}"))
        return 0.0
    try:
        seconds = parse_duration(duration) if field == "duration" else float(duration)
    except ValueError as exc:
        problems.append(Problem(field, str(exc)))
        return 0.0
    longest = max_duration_s(settings)
    if seconds <= 0:
        what = "must be more than 0" if field == "duration" else "is not after from"
        problems.append(Problem(field, what))
    elif seconds > longest:
        problems.append(
            Problem(field, f"{seconds:g} s is longer than the most allowed ({longest:g} s)")
        )
    return seconds


def _reason(reason: Any, problems: list[Problem]) -> str:
    if reason is None:
        return ""
    if not isinstance(reason, str):
        problems.append(Problem("reason", f"must be text, not {reason!r}"))
        return ""
    if len(reason) > MAX_REASON_CHARS:
        problems.append(Problem("reason", f"is longer than {MAX_REASON_CHARS} characters"))
    return reason.strip()
