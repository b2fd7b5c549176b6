"""What we publish as state: the JSON on ``<prefix>/state`` and the controls' own topics.

Every key the discovery templates read is always present; a value we do not
know is null, which HA shows as unknown (a numeric sensor and a binary sensor
take the rendered ``None`` as unknown, and text sensors' templates turn null
into HA's ``unknown``). Nothing here raises on a missing or malformed input: a
half-started site still publishes what it knows.

Units are HA's: SOC and probabilities in %, power in W, energy in kWh, prices in
AUD/kWh (the price feed's own $/kWh, export price as what exporting earns).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from datetime import UTC
from typing import Any

from flowengine import local_iso
from nodes.control.decision import MODES
from nodes.control.override_rules import is_active
from nodes.flexible import one_off as flexible_one_off
from nodes.flexible.deadline import next_deadline
from nodes.flexible.settings import FlexConfig
from nodes.homeassistant import flexible, target
from nodes.homeassistant.discovery import AUTO, ENERGY_FLOWS, HEALTH_STATES
from nodes.homeassistant.settings import HomeAssistantSettings
from nodes.homeassistant.topics import OFF, ON, Topics, loads_from
from nodes.loads.settings import zone_of
from nodes.storm.settings import DEFAULTS as STORM_DEFAULTS

#: HA keeps at most 255 characters of a state.
MAX_TEXT = 255
#: What a switch's state topic says when we do not know (HA's PAYLOAD_NONE: unknown).
NONE_PAYLOAD = "None"
#: Telemetry older than this is not shown as live (control.telemetry_stale_after's default).
DEFAULT_TELEMETRY_MAX_AGE_S = 900.0


def build_state(
    now: float,
    telemetry: Mapping[str, Any] | None = None,
    decision: Mapping[str, Any] | None = None,
    health: Mapping[str, Any] | None = None,
    prices: Mapping[str, Any] | None = None,
    storm: Mapping[str, Any] | None = None,
    telemetry_max_age_s: float = DEFAULT_TELEMETRY_MAX_AGE_S,
    command_check: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``<prefix>/state`` message from the global context's values (each may be None).

    Live values (SOC, power) from telemetry older than ``telemetry_max_age_s`` are
    null; the energy counters are totals and stay. A counter at 0 or below is
    null too: a KH that has run a day never reads 0, and HA would take the drop
    for a meter reset and count the next real reading again in full.
    """
    return {
        "timestamp": local_iso(now, UTC, "seconds"),
        **_telemetry(telemetry, now, telemetry_max_age_s),
        **_prices(prices, now),
        **_decision(decision),
        "health": _choice(_mapping(health).get("state"), HEALTH_STATES),
        **_command_check(command_check),
        **_storm(storm),
    }


def flexible_state(
    config: FlexConfig,
    now: float,
    settings: Mapping[str, Any],
    status: Mapping[str, Any] | None = None,
    plan: Mapping[str, Any] | None = None,
    targets: Any = None,
) -> dict[str, Any]:
    """A flexible load's ``<prefix>/flexible/<id>/state`` message.

    ``status`` is its entry in ``global.flexible_loads`` (flexible.control's report),
    ``plan`` the plan (its ``flexible`` entry gives the planned energy, and the needed
    energy until control reports one), ``targets`` ``global.flexible_targets``. The
    deadline is control's, else the one-off target's, else the configured one: never
    unknown. Power in W, energy in kWh, the car's SOC in %, plugged ON/OFF.
    """
    data = _mapping(status)
    entries = _mapping(plan).get("flexible")
    entry = next(
        (
            _mapping(e)
            for e in (entries if isinstance(entries, list) else ())
            if _mapping(e).get("name") == config.id
        ),
        _mapping(None),
    )
    zone = zone_of(settings)
    deadline = _number(data.get("deadline"))
    if deadline is None or deadline <= now:
        one_off = flexible_one_off.pending(targets, now).get(config.id)
        deadline = float(one_off["by"]) if one_off else next_deadline(config, now, zone)
    needed = _number(data.get("needed_kwh"))
    if needed is None:
        needed = _number(entry.get("needed_kwh"))
    plugged = data.get("plugged")
    soc = _number(data.get("soc"))
    return {
        "power_w": _whole(data.get("power_w")),
        "setpoint_w": _whole(data.get("setpoint_w")),
        "session_kwh": _rounded(data.get("session_kwh"), 3),
        "planned_kwh": _rounded(entry.get("planned_kwh"), 3),
        "needed_kwh": None if needed is None else round(needed, 3) + 0.0,
        "deadline": local_iso(deadline, zone, "seconds"),
        "reason": _text(data.get("reason")),
        "plugged": (ON if plugged else OFF) if isinstance(plugged, bool) else None,
        "soc": None if soc is None else round(soc * 100, 1),
        "mode": str(config.get("mode")),
    }


def encode(state: Mapping[str, Any]) -> bytes:
    """Compact JSON; never NaN (``build_state`` already turned those into null)."""
    return json.dumps(state, separators=(",", ":"), allow_nan=False).encode()


def entity_states(
    settings: Mapping[str, Any],
    now: float,
    override: Mapping[str, Any] | None = None,
    reserve_soc: float | None = None,
    load_states: Mapping[str, bool | None] | None = None,
    loads: Iterable[str] | Mapping[str, Any] | None = None,
    target_choice: Mapping[str, Any] | None = None,
    soc_targets: Any = None,
    flexible_choice: Mapping[str, Any] | None = None,
    flexible_targets: Any = None,
) -> dict[str, str]:
    """Topic -> payload for the select, the numbers, the text and the switches.

    ``override`` is ``global.override`` (an expired one reads ``auto``);
    ``reserve_soc`` the reserve in force as a fraction (default: settings
    ``storm.reserve_soc``); ``load_states`` maps a load's settings key to on/off
    (missing or None: unknown); ``target_choice`` what HA's SOC target controls chose
    (``global.ha_soc_target``) and ``soc_targets`` the one-off targets
    (``global.soc_targets``), whose switch is ON while HA's is still to come;
    ``flexible_choice`` what each flexible load's target controls chose
    (``global.ha_flexible_targets``) and ``flexible_targets`` the loads' one-off targets
    (``global.flexible_targets``), whose switch is ON while HA's is still to come.
    """
    ha = HomeAssistantSettings.from_settings(settings)
    topics = Topics(ha.topic_prefix, ha.discovery_prefix, ha.device_id)
    states = {topics.override_mode_state: override_option(override, now)}
    reserve = _number(reserve_soc)
    if reserve is None:
        reserve = _number(_mapping(settings.get("storm")).get("reserve_soc"))
    if reserve is None:
        reserve = float(STORM_DEFAULTS["reserve_soc"])
    states[topics.reserve_soc_state] = _percent_text(reserve)
    choice = target.chosen(target_choice, ha.reserve_min_pct, ha.reserve_max_pct)
    states[topics.target_soc_state] = _percent_text(choice["soc"])
    states[topics.target_by_state] = choice["by"]
    states[topics.target_hard_state] = ON if choice["hard"] else OFF
    states[topics.target_state] = ON if target.is_on(soc_targets, now) else OFF
    switched = load_states or {}
    for load in loads_from(settings.get("loads") if loads is None else loads):
        on = switched.get(load.key)
        states[topics.load_state(load)] = NONE_PAYLOAD if on is None else (ON if on else OFF)
    choices = _mapping(flexible_choice)
    for config in flexible.configs(settings):
        choice = flexible.chosen(choices.get(config.id), config)
        unit = flexible.unit(config)
        amount = _percent_text(choice["soc"]) if unit == "soc" else f"{choice['energy_kwh']:g}"
        states[topics.flexible_target_state(config.id, unit)] = amount
        states[topics.flexible_by_state(config.id)] = choice["by"]
        on = flexible.is_on(flexible_targets, config.id, now)
        states[topics.flexible_active_state(config.id)] = ON if on else OFF
    return states


def override_option(override: Mapping[str, Any] | None, now: float) -> str:
    """The select's option: the override's mode while it is in force, else ``auto``."""
    if override is not None and is_active(override, now):
        return str(override["mode"])
    return AUTO


def _telemetry(telemetry: Mapping[str, Any] | None, now: float, max_age_s: float) -> dict[str, Any]:
    data = _mapping(telemetry)
    at = _number(data.get("timestamp"))
    live = at is not None and now - at <= max_age_s
    soc = _number(data.get("soc"))
    if soc is None and _number(data.get("soc_pct")) is not None:
        soc = float(data["soc_pct"]) / 100
    values: dict[str, Any] = {
        "telemetry_at": local_iso(at, UTC, "seconds") if at is not None else None,
        "battery_soc": round(soc * 100, 1) if live and soc is not None else None,
    }
    for name in ("pv_w", "load_w", "battery_w", "grid_w"):
        watts = _number(data.get(name))
        values[name] = round(watts) if live and watts is not None else None
    energy = _mapping(data.get("energy_kwh"))
    for flow in ENERGY_FLOWS:
        total = _number(energy.get(flow))
        values[f"{flow}_kwh"] = round(total, 2) if total is not None and total > 0 else None
    return values


def _prices(prices: Mapping[str, Any] | None, now: float) -> dict[str, Any]:
    """The interval covering ``now`` in a prices reading (or its ``data``)."""
    reading = _mapping(prices)
    data = _mapping(reading.get("data", reading))
    intervals = data.get("intervals")
    for interval in intervals if isinstance(intervals, list) else ():
        item = _mapping(interval)
        start, end = _number(item.get("start")), _number(item.get("end"))
        if start is not None and end is not None and start <= now < end:
            return {
                "import_price": _rounded(item.get("import_price"), 7),
                "export_price": _rounded(item.get("export_price"), 7),
            }
    return {"import_price": None, "export_price": None}


def _decision(decision: Mapping[str, Any] | None) -> dict[str, Any]:
    data = _mapping(decision)
    return {
        "mode": _choice(data.get("mode"), MODES),
        "level": _text(data.get("level")),
        "reason": _text(data.get("reason")),
    }


def _command_check(record: Mapping[str, Any] | None) -> dict[str, Any]:
    """control.compare's verdict: the problem sensor, and what is wrong (``ok`` when
    nothing; ``nothing commanded`` before a command, or in shadow mode)."""
    data = _mapping(record)
    state = data.get("state")
    if state not in ("ok", "degraded"):
        return {"command_problem": None, "command_check": None}
    if state == "degraded":
        reasons = [str(r) for r in data.get("reasons") or []]
        return {"command_problem": ON, "command_check": _text("; ".join(reasons))}
    words = "ok" if data.get("commanded") is not None else "nothing commanded"
    return {"command_problem": OFF, "command_check": words}


def _storm(storm: Mapping[str, Any] | None) -> dict[str, Any]:
    data = _mapping(storm)
    armed = data.get("armed")
    if not isinstance(armed, bool):
        return {"storm_armed": None, "storm_reserve_soc": None, "storm_probability": None}
    soc = _number(data.get("soc"))
    probability = _number(data.get("probability"))
    return {
        "storm_armed": ON if armed else OFF,
        "storm_reserve_soc": (round(soc * 100, 1) if soc is not None else None) if armed else 0,
        "storm_probability": round(probability * 100, 1) if probability is not None else None,
    }


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _whole(value: Any) -> int | None:
    number = _number(value)
    return None if number is None else round(number)


def _rounded(value: Any, digits: int) -> float | None:
    number = _number(value)
    return None if number is None else round(number, digits) + 0.0


def _choice(value: Any, allowed: Iterable[str]) -> str | None:
    return value if isinstance(value, str) and value in allowed else None


def _text(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def _percent_text(fraction: float) -> str:
    return f"{round(fraction * 100, 1):g}"
