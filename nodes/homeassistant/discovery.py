"""Home Assistant device-based discovery: one retained message announces every entity.

The message goes to ``<discovery_prefix>/device/<device_id>/config`` with the
device (``dev``), the origin (``o``, which HA requires for device discovery),
our availability topic and the components (``cmps``), each with a unique id
``<device_id>_<key>`` that never changes, so HA keeps the user's entity ids,
names and history across restarts (protocols §7).

Removing an entity: HA does not drop a component that is merely left out of a
new device config. A component reduced to its platform alone (``{"p":
"switch"}``) is what removes it (HA core ``mqtt/discovery.py``: "If the dict is
empty after removing the platform, the payload is assumed to remove the
existing config"; ``check_unique_id`` exempts such a one-key component). So a
load taken out of settings goes out once as ``{"p": "switch"}``, in the same
message as everything that stays; the caller keeps ``announced_loads`` from one
build to pass to the next.

A flexible load (site.yaml ``flexible_loads``) gets its own sensors, read from its
own state topic (``<prefix>/flexible/<id>/state``), and its one-off target's controls,
each under the key ``flex_<id>_<what>`` (``FLEXIBLE``: every ``<what>`` and its
platform; no ``<what>`` ends with ``_`` and another, so two loads' keys never meet).
Its components are announced and removed as a load's switch is: a flexible load taken
out of settings (or a car's sensors, when it is no car any more) goes out once as its
platform alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from nodes.control.decision import MODES
from nodes.flexible.settings import MODES as FLEXIBLE_MODES
from nodes.flexible.settings import FlexConfig
from nodes.homeassistant import flexible
from nodes.homeassistant.settings import HomeAssistantSettings
from nodes.homeassistant.topics import OFF, ON, Load, Topics, loads_from

ORIGIN_NAME = "power-master"
MANUFACTURER = "Power Master"
#: The select's option that ends any override and hands control back to the hierarchy.
AUTO = "auto"
OVERRIDE_OPTIONS = (AUTO, *MODES)
HEALTH_STATES = ("ok", "degraded", "safety")
#: HA's own word for "not known": enum sensors list it so a missing value shows as unknown.
UNKNOWN = "unknown"
#: A time of day as the SOC target's text entity takes it (HA checks its ``pattern``).
CLOCK_PATTERN = r"^([01]?[0-9]|2[0-3]):[0-5][0-9]$"
#: Load switches' keys start so, and no other component's does (house load: ``home_``).
LOAD_PREFIX = "load_"
#: A flexible load's components' keys start so: ``flex_<id>_<what>``.
FLEX_PREFIX = "flex_"
#: A flexible load's components: ``<what>`` -> platform (``plugged`` and ``car_soc``
#: for a car only).
FLEXIBLE: dict[str, str] = {
    "power": "sensor",
    "setpoint": "sensor",
    "session_energy": "sensor",
    "planned_energy": "sensor",
    "needed_energy": "sensor",
    "deadline": "sensor",
    "reason": "sensor",
    "mode": "sensor",
    "plugged": "binary_sensor",
    "car_soc": "sensor",
    "target": "number",
    "target_by": "text",
    "target_active": "switch",
}
CAR_ONLY = ("plugged", "car_soc")
ENERGY_FLOWS = ("grid_import", "grid_export", "pv", "battery_charge", "battery_discharge", "load")


@dataclass(frozen=True, slots=True)
class Reading:
    """A sensor fed from one key of the state message."""

    key: str
    name: str
    field: str
    unit: str | None = None
    device_class: str | None = None
    state_class: str | None = None
    precision: int | None = None
    icon: str | None = None
    options: tuple[str, ...] = ()
    diagnostic: bool = False
    platform: str = "sensor"
    #: Text: a null value shows as HA's "unknown" instead of the word "None".
    text: bool = False


def _power(key: str, name: str, field: str, icon: str) -> Reading:
    return Reading(key, name, field, "W", "power", "measurement", 0, icon)


def _energy(flow: str, name: str, key: str | None = None) -> Reading:
    key = key or f"{flow}_energy"
    return Reading(key, name, f"{flow}_kwh", "kWh", "energy", "total_increasing", 1)


def _price(key: str, name: str, icon: str) -> Reading:
    return Reading(key, name, key, "AUD/kWh", None, "measurement", 3, icon)


def _percent(key: str, name: str, field: str, icon: str) -> Reading:
    return Reading(key, name, field, "%", None, "measurement", 0, icon)


def _words(
    key: str,
    name: str,
    field: str,
    icon: str,
    options: tuple[str, ...] = (),
    diagnostic: bool = False,
) -> Reading:
    """A text sensor; with ``options`` an enum sensor (``unknown`` among them)."""
    choices = (*options, UNKNOWN) if options else ()
    device_class = "enum" if options else None
    return Reading(
        key, name, field, None, device_class, None, None, icon, choices, diagnostic, text=True
    )


READINGS: tuple[Reading, ...] = (
    Reading("battery_soc", "Battery SOC", "battery_soc", "%", "battery", "measurement", 0),
    _power("pv_power", "PV power", "pv_w", "mdi:solar-power"),
    _power("home_power", "Load power", "load_w", "mdi:home-lightning-bolt"),
    _power("grid_power", "Grid power", "grid_w", "mdi:transmission-tower"),
    _power("battery_power", "Battery power", "battery_w", "mdi:battery-charging"),
    _price("import_price", "Buy price", "mdi:cash-minus"),
    _price("export_price", "Sell price", "mdi:cash-plus"),
    _energy("grid_import", "Grid import energy"),
    _energy("grid_export", "Grid export energy"),
    _energy("pv", "PV energy"),
    _energy("battery_charge", "Battery charge energy"),
    _energy("battery_discharge", "Battery discharge energy"),
    _energy("load", "Load energy", "home_energy"),
    _words("control_mode", "Control mode", "mode", "mdi:cog", MODES),
    _words("control_level", "Deciding level", "level", "mdi:format-list-numbered"),
    _words(
        "control_reason",
        "Decision reason",
        "reason",
        "mdi:comment-question-outline",
        diagnostic=True,
    ),
    _words("health", "Control health", "health", "mdi:heart-pulse", HEALTH_STATES),
    Reading(
        "inverter_disobeys",
        "Inverter not following commands",
        "command_problem",
        device_class="problem",
        icon="mdi:alert-octagon-outline",
        platform="binary_sensor",
    ),
    _words(
        "command_check",
        "Command check",
        "command_check",
        "mdi:clipboard-check-outline",
        diagnostic=True,
    ),
    _percent("storm_reserve", "Storm reserve", "storm_reserve_soc", "mdi:weather-lightning"),
    _percent("storm_probability", "Storm probability", "storm_probability", "mdi:weather-pouring"),
    Reading(
        "storm_reserve_armed",
        "Storm reserve armed",
        "storm_armed",
        icon="mdi:shield-alert",
        platform="binary_sensor",
    ),
    Reading("last_update", "Last update", "timestamp", device_class="timestamp", diagnostic=True),
)


@dataclass(frozen=True, slots=True)
class Discovery:
    """What to publish (retained) and what to subscribe to, for one set of loads."""

    topic: str
    payload: dict[str, Any]
    #: Component keys of the loads this message announces: pass to the next build.
    announced_loads: frozenset[str]
    #: Component keys this message removes (``{"p": "switch"}``).
    removed: frozenset[str]
    command_topics: tuple[str, ...]

    def encoded(self) -> bytes:
        return json.dumps(self.payload, separators=(",", ":"), sort_keys=True).encode()


def software_version() -> str:
    """The installed package's version (importlib.metadata), or ``unknown`` from a bare tree."""
    try:
        return metadata.version("power-master")
    except metadata.PackageNotFoundError:
        return UNKNOWN


def build_discovery(
    settings: Mapping[str, Any],
    loads: Iterable[str] | Mapping[str, Any] | None = None,
    announced: Iterable[str] = (),
) -> Discovery:
    """The device config for ``settings`` (and its ``loads`` unless given).

    ``announced``: the load component keys the previous message announced (its
    ``announced_loads``); those no longer configured go out as removals.
    """
    ha = HomeAssistantSettings.from_settings(settings)
    topics = Topics(ha.topic_prefix, ha.discovery_prefix, ha.device_id)
    chosen = loads_from(settings.get("loads") if loads is None else loads)
    components: dict[str, dict[str, Any]] = {}
    for reading in READINGS:
        components[reading.key] = _reading(reading, ha.device_id, topics)
    components["override_mode"] = _override_select(ha.device_id, topics)
    components["reserve_soc"] = _reserve_number(ha, topics)
    components.update(_target_controls(ha, topics))
    live = set()
    for load in chosen:
        key = load_key(load)
        components[key] = _load_switch(load, ha.device_id, topics)
        live.add(key)
    configs = flexible.configs(settings)
    for config in configs:
        made = _flexible_components(config, ha.device_id, topics)
        components.update(made)
        live.update(made)
    removed = {key for key in announced if key not in live and platform_of(key) is not None}
    for key in sorted(removed):
        components[key] = {"p": platform_of(key)}
    payload = {
        "dev": _device(ha),
        "o": _origin(ha),
        "avty_t": topics.status,
        "qos": 1,
        "cmps": components,
    }
    return Discovery(
        topic=topics.discovery,
        payload=payload,
        announced_loads=frozenset(live),
        removed=frozenset(removed),
        command_topics=tuple(
            topics.command_topics(chosen, [(c.id, flexible.unit(c)) for c in configs])
        ),
    )


def load_key(load: Load) -> str:
    """The component key (and unique id suffix) of a load's switch."""
    return f"{LOAD_PREFIX}{load.object_id}"


def flexible_key(load_id: str, what: str) -> str:
    """The component key (and unique id suffix) of a flexible load's ``what`` (``FLEXIBLE``)."""
    return f"{FLEX_PREFIX}{load_id}_{what}"


def platform_of(key: str) -> str | None:
    """The platform of a load's component from its key alone (what a removal must name),
    or None for a key no load's component has."""
    if key.startswith(LOAD_PREFIX):
        return "switch"
    if key.startswith(FLEX_PREFIX):
        for what, platform in FLEXIBLE.items():
            if key.endswith(f"_{what}") and len(key) > len(FLEX_PREFIX) + len(what) + 1:
                return platform
    return None


def announced_in(retained: bytes | str | None) -> frozenset[str]:
    """The load keys (switches and flexible loads' components) a device config we
    published (say, read back retained after a restart) still announces; tombstones and
    anything unreadable count as none."""
    if not retained:
        return frozenset()
    try:
        payload = json.loads(retained)
    except ValueError:
        return frozenset()
    components = payload.get("cmps") if isinstance(payload, dict) else None
    if not isinstance(components, dict):
        return frozenset()
    return frozenset(
        key
        for key, config in components.items()
        if platform_of(key) is not None
        and isinstance(config, dict)
        and config.get("p") == platform_of(key)
        and len(config) > 1
    )


def _device(ha: HomeAssistantSettings) -> dict[str, Any]:
    device: dict[str, Any] = {
        "ids": [ha.device_id],
        "name": ha.device_name,
        "mf": MANUFACTURER,
        "mdl": ha.model,
        "sw": software_version(),
    }
    if ha.configuration_url:
        device["cu"] = ha.configuration_url
    return device


def _origin(ha: HomeAssistantSettings) -> dict[str, Any]:
    origin: dict[str, Any] = {"name": ORIGIN_NAME, "sw": software_version()}
    url = ha.support_url or ha.configuration_url
    if url:
        origin["url"] = url
    return origin


def _reading(
    reading: Reading, device_id: str, topics: Topics, state_topic: str | None = None
) -> dict[str, Any]:
    template = (
        f"{{{{ value_json.{reading.field} | default('{UNKNOWN}', true) }}}}"
        if reading.text
        else f"{{{{ value_json.{reading.field} }}}}"
    )
    config: dict[str, Any] = {
        "p": reading.platform,
        "unique_id": f"{device_id}_{reading.key}",
        "name": reading.name,
        "state_topic": state_topic or topics.state,
        "value_template": template,
    }
    optional = {
        "unit_of_measurement": reading.unit,
        "device_class": reading.device_class,
        "state_class": reading.state_class,
        "suggested_display_precision": reading.precision,
        "icon": reading.icon,
        "entity_category": "diagnostic" if reading.diagnostic else None,
    }
    config.update({k: v for k, v in optional.items() if v is not None})
    if reading.options:
        config["options"] = list(reading.options)
    if reading.platform == "binary_sensor":
        config.update(payload_on=ON, payload_off=OFF)
    return config


def _override_select(device_id: str, topics: Topics) -> dict[str, Any]:
    return {
        "p": "select",
        "unique_id": f"{device_id}_override_mode",
        "name": "Mode override",
        "command_topic": topics.override_mode_set,
        "state_topic": topics.override_mode_state,
        "options": list(OVERRIDE_OPTIONS),
        "icon": "mdi:hand-back-right",
    }


def _reserve_number(ha: HomeAssistantSettings, topics: Topics) -> dict[str, Any]:
    return {
        "p": "number",
        "unique_id": f"{ha.device_id}_reserve_soc",
        "name": "Storm reserve SOC",
        "command_topic": topics.reserve_soc_set,
        "state_topic": topics.reserve_soc_state,
        "min": _plain(ha.reserve_min_pct),
        "max": _plain(ha.reserve_max_pct),
        "step": _plain(ha.reserve_step_pct),
        "mode": "slider",
        "unit_of_measurement": "%",
        "icon": "mdi:battery-lock",
        "entity_category": "config",
    }


def _target_controls(ha: HomeAssistantSettings, topics: Topics) -> dict[str, dict[str, Any]]:
    """A one-off SOC target: how full (number), by when (text, HH:MM), hard or soft
    (switch), and the switch that sets or cancels it (nodes/homeassistant/target.py)."""
    uid = ha.device_id
    return {
        "target_soc": {
            "p": "number",
            "unique_id": f"{uid}_target_soc",
            "name": "SOC target",
            "command_topic": topics.target_soc_set,
            "state_topic": topics.target_soc_state,
            "min": _plain(ha.reserve_min_pct),
            "max": _plain(ha.reserve_max_pct),
            "step": _plain(ha.reserve_step_pct),
            "mode": "slider",
            "unit_of_measurement": "%",
            "icon": "mdi:battery-arrow-up",
        },
        "target_by": {
            "p": "text",
            "unique_id": f"{uid}_target_by",
            "name": "SOC target by",
            "command_topic": topics.target_by_set,
            "state_topic": topics.target_by_state,
            "min": 4,
            "max": 5,
            "mode": "text",
            "pattern": CLOCK_PATTERN,
            "icon": "mdi:clock-end",
        },
        "target_hard": {
            "p": "switch",
            "unique_id": f"{uid}_target_hard",
            "name": "SOC target hard",
            "command_topic": topics.target_hard_set,
            "state_topic": topics.target_hard_state,
            "payload_on": ON,
            "payload_off": OFF,
            "icon": "mdi:lock-clock",
        },
        "target": {
            "p": "switch",
            "unique_id": f"{uid}_target",
            "name": "SOC target set",
            "command_topic": topics.target_set,
            "state_topic": topics.target_state,
            "payload_on": ON,
            "payload_off": OFF,
            "icon": "mdi:battery-clock",
        },
    }


def _plain(number: float) -> float | int:
    """A whole number as an int (``80``, not ``80.0``) in the JSON."""
    return int(number) if number.is_integer() else number


def _load_switch(load: Load, device_id: str, topics: Topics) -> dict[str, Any]:
    return {
        "p": "switch",
        "unique_id": f"{device_id}_{load_key(load)}",
        "name": load.name,
        "command_topic": topics.load_set(load),
        "state_topic": topics.load_state(load),
        "payload_on": ON,
        "payload_off": OFF,
        "icon": "mdi:power-socket-au",
    }


def _flexible_readings(config: FlexConfig) -> list[Reading]:
    """A flexible load's sensors, read from its state topic (``state.flexible_state``)."""
    name = config.name
    icon = {"car": "mdi:ev-station", "hot_water": "mdi:water-boiler"}.get(config.kind, "mdi:flash")

    def key(what: str) -> str:
        return flexible_key(config.id, what)

    def kwh(what: str, field: str, state_class: str | None, icon: str) -> Reading:
        label = f"{name} {what.replace('_', ' ')}"
        return Reading(key(what), label, field, "kWh", "energy", state_class, 1, icon)

    found = [
        _power(key("power"), f"{name} power", "power_w", icon),
        _power(key("setpoint"), f"{name} setpoint", "setpoint_w", "mdi:tune-vertical"),
        # A new session starts from 0: a meter reset, as total_increasing takes it.
        kwh("session_energy", "session_kwh", "total_increasing", "mdi:counter"),
        # Not meters: no state class, so HA sums no statistics from them.
        kwh("planned_energy", "planned_kwh", None, "mdi:calendar-clock"),
        kwh("needed_energy", "needed_kwh", None, "mdi:battery-arrow-up-outline"),
        Reading(
            key("deadline"),
            f"{name} deadline",
            "deadline",
            device_class="timestamp",
            icon="mdi:clock-end",
        ),
        _words(key("reason"), f"{name} reason", "reason", "mdi:comment-question-outline"),
        _words(key("mode"), f"{name} mode", "mode", "mdi:cog", FLEXIBLE_MODES),
    ]
    if config.kind == "car":
        found += [
            Reading(
                key("plugged"),
                f"{name} plugged in",
                "plugged",
                device_class="plug",
                icon="mdi:ev-plug-type2",
                platform="binary_sensor",
            ),
            Reading(key("car_soc"), f"{name} SOC", "soc", "%", "battery", "measurement", 0),
        ]
    return found


def _flexible_components(
    config: FlexConfig, device_id: str, topics: Topics
) -> dict[str, dict[str, Any]]:
    """A flexible load's sensors and its one-off target's controls, by component key."""
    load_id, name = config.id, config.name
    state = topics.flexible_state(load_id)
    components = {
        reading.key: _reading(reading, device_id, topics, state)
        for reading in _flexible_readings(config)
    }
    amount = flexible.unit(config)
    number: dict[str, Any] = {
        "p": "number",
        "unique_id": f"{device_id}_{flexible_key(load_id, 'target')}",
        "command_topic": topics.flexible_target_set(load_id, amount),
        "state_topic": topics.flexible_target_state(load_id, amount),
    }
    if amount == "soc":
        number.update(
            name=f"{name} target SOC",
            min=_plain(flexible.SOC_MIN_PCT),
            max=_plain(flexible.SOC_MAX_PCT),
            step=1,
            mode="slider",
            unit_of_measurement="%",
            icon="mdi:battery-arrow-up",
        )
    else:
        number.update(
            name=f"{name} target energy",
            min=0,
            max=_plain(flexible.energy_max_kwh(config)),
            step=flexible.ENERGY_STEP_KWH,
            mode="box",
            unit_of_measurement="kWh",
            icon="mdi:lightning-bolt",
        )
    components[flexible_key(load_id, "target")] = number
    components[flexible_key(load_id, "target_by")] = {
        "p": "text",
        "unique_id": f"{device_id}_{flexible_key(load_id, 'target_by')}",
        "name": f"{name} target by",
        "command_topic": topics.flexible_by_set(load_id),
        "state_topic": topics.flexible_by_state(load_id),
        "min": 4,
        "max": 5,
        "mode": "text",
        "pattern": CLOCK_PATTERN,
        "icon": "mdi:clock-end",
    }
    components[flexible_key(load_id, "target_active")] = {
        "p": "switch",
        "unique_id": f"{device_id}_{flexible_key(load_id, 'target_active')}",
        "name": f"{name} target set",
        "command_topic": topics.flexible_active_set(load_id),
        "state_topic": topics.flexible_active_state(load_id),
        "payload_on": ON,
        "payload_off": OFF,
        "icon": "mdi:calendar-check",
    }
    return components
