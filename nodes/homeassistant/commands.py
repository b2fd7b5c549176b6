"""Commands from Home Assistant: a topic and raw payload in, a checked action out.

Each command topic takes one kind of action; anything we cannot read as exactly
that is a ``CommandError`` naming the topic and what is wrong, and nothing is
done. A command delivered with the retain flag is refused too: that is the
broker replaying a retained one when we subscribe (after every reconnect), not a
live command (HA publishes commands unretained, and a broker clears the flag on a
live delivery, so a command published retained acts once when it is sent).

Override (``<prefix>/override/mode/set``): ``auto`` ends the override in force
(not those set ahead); any of the control modes starts one at the battery's full
power for a forcing mode and for ``control.override_default_duration`` (2h unless
set, never past ``control.override_max_duration``). A JSON object ``{"mode",
"power_w", "duration", "reason", "from", "until"}`` may say more (for automations):
``from`` still to come sets it ahead (``2026-12-15T17:00``, the site's wall time
unless it has an offset, or epoch seconds), ``until`` ends it instead of
``duration``; ``set_or_plan_override`` checks the result once more when it is applied.

SOC target (``<prefix>/target/...``): the number (``soc``, %), the text (``by``,
``HH:MM``) and the hard switch (``hard``) choose a one-off target; the target
switch (``active``) ON sets it (by the next time the clock reads ``by``), OFF
cancels it (nodes/planning/one_off.py).

A flexible load's one-off target (``<prefix>/flexible/<id>/target/...``): the number
(``soc``, %, for a car with ``battery_kwh``; else ``energy``, kWh) and the text
(``by``, ``HH:MM``) choose it; the switch (``active``) ON sets it, OFF cancels it
(nodes/homeassistant/flexible.py, nodes/flexible/one_off.py).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from flowengine.durations import parse_duration
from nodes.control.decision import MODES
from nodes.control.override_rules import MAX_REASON_CHARS, max_duration_s, power_limit_w
from nodes.core.wallclock import parse_moment, site_zone
from nodes.flexible.settings import InvalidFlexibleLoads
from nodes.homeassistant import flexible
from nodes.homeassistant.discovery import AUTO, CLOCK_PATTERN
from nodes.homeassistant.settings import HomeAssistantSettings
from nodes.homeassistant.topics import OFF, ON, Topics, loads_from

#: A select change carries no duration: the override lasts this long.
DEFAULT_OVERRIDE_DURATION = "2h"
#: No command of ours is longer; a bigger payload is not one.
MAX_PAYLOAD_BYTES = 1024
FORCING = ("force_charge", "force_discharge")


class CommandError(ValueError):
    """A command refused: ``topic`` and what is wrong with it."""

    def __init__(self, topic: str, problem: str) -> None:
        self.topic = topic
        self.problem = problem
        super().__init__(f"command on {topic}: {problem}")


@dataclass(frozen=True, slots=True)
class ClearOverride:
    """End the manual override: ``nodes.control.override_rules.clear_override``."""

    kind: ClassVar[str] = "clear_override"


@dataclass(frozen=True, slots=True)
class SetOverride:
    """Start one (``set_or_plan_override``): for ``duration_s`` or until ``until`` (epoch
    seconds), from now or from ``start`` (set ahead)."""

    mode: str
    power_w: float
    duration_s: float | None
    reason: str | None = None
    start: float | None = None
    until: float | None = None
    kind: ClassVar[str] = "override"


@dataclass(frozen=True, slots=True)
class SetReserveSoc:
    """The storm reserve SOC (``storm.reserve_soc``), as a fraction."""

    soc: float
    kind: ClassVar[str] = "reserve_soc"


@dataclass(frozen=True, slots=True)
class SwitchLoad:
    """Turn a load on or off by hand; ``load`` is its key in settings ``loads``."""

    load: str
    on: bool
    kind: ClassVar[str] = "load"


@dataclass(frozen=True, slots=True)
class SetTargetSoc:
    """The SOC target's SOC, as a fraction."""

    soc: float
    kind: ClassVar[str] = "target_soc"


@dataclass(frozen=True, slots=True)
class SetTargetBy:
    """The SOC target's time of day, ``HH:MM`` in the site's zone."""

    by: str
    kind: ClassVar[str] = "target_by"


@dataclass(frozen=True, slots=True)
class SetTargetHard:
    """Whether the SOC target is hard."""

    hard: bool
    kind: ClassVar[str] = "target_hard"


@dataclass(frozen=True, slots=True)
class SwitchTarget:
    """Set the SOC target chosen (ON), or cancel it (OFF)."""

    on: bool
    kind: ClassVar[str] = "target"


@dataclass(frozen=True, slots=True)
class SetFlexibleTarget:
    """A flexible load's one-off target amount: the car's ``soc`` (a fraction) or the
    ``energy_kwh``, one of them; ``load`` is its id in ``flexible_loads``."""

    load: str
    soc: float | None = None
    energy_kwh: float | None = None
    kind: ClassVar[str] = "flexible_target"


@dataclass(frozen=True, slots=True)
class SetFlexibleBy:
    """A flexible load's one-off target's time of day, ``HH:MM`` in the site's zone."""

    load: str
    by: str
    kind: ClassVar[str] = "flexible_target_by"


@dataclass(frozen=True, slots=True)
class SwitchFlexibleTarget:
    """Set the flexible load's one-off target chosen (ON), or cancel it (OFF)."""

    load: str
    on: bool
    kind: ClassVar[str] = "flexible_target_active"


FlexibleCommand = SetFlexibleTarget | SetFlexibleBy | SwitchFlexibleTarget

Command = (
    ClearOverride
    | SetOverride
    | SetReserveSoc
    | SwitchLoad
    | SetTargetSoc
    | SetTargetBy
    | SetTargetHard
    | SwitchTarget
    | SetFlexibleTarget
    | SetFlexibleBy
    | SwitchFlexibleTarget
)


def parse_command(
    settings: Mapping[str, Any],
    topic: str,
    payload: bytes | str,
    *,
    retained: bool = False,
    loads: Iterable[str] | Mapping[str, Any] | None = None,
) -> Command:
    """The action ``payload`` on ``topic`` asks for, or a ``CommandError``."""
    ha = HomeAssistantSettings.from_settings(settings)
    topics = Topics(ha.topic_prefix, ha.discovery_prefix, ha.device_id)
    if retained:
        raise CommandError(topic, "a retained command is ignored: send it unretained")
    text = _text(topic, payload)
    if topic == topics.override_mode_set:
        return _override(topic, text, settings)
    if topic == topics.reserve_soc_set:
        return _reserve(topic, text, ha)
    if topic == topics.target_soc_set:
        return SetTargetSoc(_percent(topic, text, ha.reserve_min_pct, ha.reserve_max_pct))
    if topic == topics.target_by_set:
        return SetTargetBy(_clock(topic, text))
    if topic == topics.target_hard_set:
        return SetTargetHard(_on_off(topic, text))
    if topic == topics.target_set:
        return SwitchTarget(_on_off(topic, text))
    for load in loads_from(settings.get("loads") if loads is None else loads):
        if topic == topics.load_set(load):
            return SwitchLoad(load.key, _on_off(topic, text))
    found = _flexible(topics, topic, text, settings)
    if found is not None:
        return found
    raise CommandError(topic, "not a command topic of ours (no such control or load)")


def _flexible(
    topics: Topics, topic: str, text: str, settings: Mapping[str, Any]
) -> FlexibleCommand | None:
    """A flexible load's target command on ``topic``, or None if it is none of theirs."""
    if not topic.startswith(f"{topics.prefix}/flexible/"):
        return None
    try:
        configs = flexible.configs(settings)
    except InvalidFlexibleLoads as exc:
        raise CommandError(topic, f"flexible_loads cannot be used: {exc}") from None
    for config in configs:
        load_id = config.id
        if topic == topics.flexible_target_set(load_id, "soc") and flexible.uses_soc(config):
            low, high = flexible.SOC_MIN_PCT, flexible.SOC_MAX_PCT
            return SetFlexibleTarget(load_id, soc=_percent(topic, text, low, high))
        if topic == topics.flexible_target_set(load_id, "energy") and not flexible.uses_soc(config):
            top = flexible.energy_max_kwh(config)
            return SetFlexibleTarget(load_id, energy_kwh=_kwh(topic, text, top))
        if topic == topics.flexible_by_set(load_id):
            return SetFlexibleBy(load_id, _clock(topic, text))
        if topic == topics.flexible_active_set(load_id):
            return SwitchFlexibleTarget(load_id, _on_off(topic, text))
    return None


def _clock(topic: str, text: str) -> str:
    """A text entity's time of day as ``HH:MM``."""
    if not re.fullmatch(CLOCK_PATTERN, text):
        raise CommandError(topic, f"{text!r} is not a time of day (HH:MM)")
    hours, minutes = text.split(":")
    return f"{int(hours):02d}:{minutes}"


def _kwh(topic: str, text: str, high: float) -> float:
    """A number entity's kWh, from 0 to ``high``."""
    try:
        kwh = float(text)
    except ValueError:
        raise CommandError(topic, f"{text!r} is not a number of kWh") from None
    if not math.isfinite(kwh):
        raise CommandError(topic, f"{text!r} is not a number of kWh")
    if not 0 <= kwh <= high:
        raise CommandError(topic, f"{kwh:g} kWh is outside 0 to {high:g} kWh")
    return round(kwh, 3)


def default_duration_s(settings: Mapping[str, Any]) -> float:
    """How long an override from the select lasts: the default, within the maximum."""
    control = settings.get("control") or {}
    wanted = parse_duration(control.get("override_default_duration", DEFAULT_OVERRIDE_DURATION))
    return min(wanted, max_duration_s(settings))


def _text(topic: str, payload: bytes | str) -> str:
    raw = payload.encode() if isinstance(payload, str) else bytes(payload)
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise CommandError(topic, f"payload of {len(raw)} bytes is too long for a command")
    try:
        text = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise CommandError(topic, "payload is not UTF-8 text") from None
    if not text:
        raise CommandError(topic, "payload is empty")
    return text


def _override(topic: str, text: str, settings: Mapping[str, Any]) -> Command:
    if text.startswith("{"):
        return _override_json(topic, text, settings)
    option = text.lower()
    if option == AUTO:
        return ClearOverride()
    if option not in MODES:
        raise CommandError(topic, f"{text!r} is not an option: one of {', '.join((AUTO, *MODES))}")
    return SetOverride(option, _full_power(option, settings), default_duration_s(settings))


def _override_json(topic: str, text: str, settings: Mapping[str, Any]) -> Command:
    try:
        request = json.loads(text)
    except ValueError as exc:
        raise CommandError(topic, f"payload is not valid JSON ({exc})") from None
    if not isinstance(request, dict):
        raise CommandError(topic, "a JSON payload must be an object")
    unknown = set(request) - {"mode", "power_w", "duration", "reason", "from", "until"}
    if unknown:
        raise CommandError(topic, f"unknown field(s) {', '.join(sorted(unknown))}")
    mode = request.get("mode")
    if mode == AUTO:
        return ClearOverride()
    if mode not in MODES:
        raise CommandError(topic, f"mode must be one of {', '.join((AUTO, *MODES))}, not {mode!r}")
    if request.get("until") is not None and request.get("duration") is not None:
        raise CommandError(topic, "give duration or until, not both")
    until = _moment(topic, "until", request.get("until"), settings)
    return SetOverride(
        mode,
        _power(topic, request.get("power_w"), mode, settings),
        None if until is not None else _duration(topic, request.get("duration"), settings),
        _reason(topic, request.get("reason")),
        start=_moment(topic, "from", request.get("from"), settings),
        until=until,
    )


def _moment(topic: str, field: str, value: Any, settings: Mapping[str, Any]) -> float | None:
    """An override's ``from`` or ``until``: ISO 8601 in the site's wall time, or epoch."""
    if value is None:
        return None
    zone = site_zone(str((settings.get("site") or {}).get("timezone") or "UTC"))
    try:
        return parse_moment(value, zone)
    except ValueError as exc:
        raise CommandError(topic, f"{field}: {exc}") from None


def _full_power(mode: str, settings: Mapping[str, Any]) -> float:
    return power_limit_w(mode, settings)[0] if mode in FORCING else 0.0


def _power(topic: str, value: Any, mode: str, settings: Mapping[str, Any]) -> float:
    if value is None:
        return _full_power(mode, settings)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise CommandError(topic, f"power_w must be a number of watts, not {value!r}")
    limit, what = power_limit_w(mode, settings)
    if not 0 <= value <= limit:
        raise CommandError(topic, f"power_w {value:g} W is outside 0 to {what} ({limit:g} W)")
    return float(value)


def _duration(topic: str, value: Any, settings: Mapping[str, Any]) -> float:
    if value is None:
        return default_duration_s(settings)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise CommandError(topic, f"duration must be seconds or text like 2h, not {value!r}")
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise CommandError(topic, f"duration: {exc}") from None
    longest = max_duration_s(settings)
    if not 0 < seconds <= longest:
        raise CommandError(topic, f"duration {seconds:g} s is outside (0, {longest:g}] s")
    return seconds


def _reason(topic: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_REASON_CHARS:
        raise CommandError(topic, f"reason must be text of at most {MAX_REASON_CHARS} characters")
    return value.strip() or None


def _reserve(topic: str, text: str, ha: HomeAssistantSettings) -> SetReserveSoc:
    return SetReserveSoc(_percent(topic, text, ha.reserve_min_pct, ha.reserve_max_pct))


def _percent(topic: str, text: str, low: float, high: float) -> float:
    """A number entity's percent, within its range, as a fraction."""
    try:
        percent = float(text)
    except ValueError:
        raise CommandError(topic, f"{text!r} is not a number of percent") from None
    if not math.isfinite(percent):
        raise CommandError(topic, f"{text!r} is not a number of percent")
    if not low <= percent <= high:
        raise CommandError(topic, f"{percent:g} % is outside {low:g} to {high:g} %")
    return round(percent / 100, 4)


def _on_off(topic: str, text: str) -> bool:
    word = text.upper()
    if word not in (ON, OFF):
        raise CommandError(topic, f"{text!r} is neither {ON} nor {OFF}")
    return word == ON
