"""The ``loads`` section of site.yaml: each controllable load, its device and its rules.

``loads`` maps a load's id (letters, digits, ``_``, ``-``; the plan and the API
use it) to its settings. A Shelly load names its relay (``host``, ``port``,
``channel``, a password for a device with auth on); an MQTT load names its
topics. Every load says its power, and planned loads (``normal`` and
``essential``) how long they must run a day; ``opportunistic`` loads only ever
run on solar surplus. ``check_loads`` finds every problem, each at its place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

import jsonschema

from flowengine.durations import parse_duration
from flowengine.schema import DURATION
from nodes.core.wallclock import site_zone
from nodes.loads.window import MINUTES_PER_DAY, Window

ADAPTERS = ("shelly_gen1", "shelly_gen2", "mqtt")
SHELLY_ADAPTERS = ("shelly_gen1", "shelly_gen2")
PRIORITIES = ("essential", "normal", "opportunistic")
#: The planner's priority per class (higher wins ties); opportunistic loads are not planned.
PLANNER_PRIORITY = {"essential": 2, "normal": 1}
LOAD_ID_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]*$"
#: Shelly Gen2+ devices know one user.
GEN2_USER = "admin"
#: The shortest device-side auto-off accepted: the relay must outlive a few control ticks.
MIN_SAFETY_OFF_S = 60.0

_CLOCK_TIME = {
    "type": "string",
    "pattern": r"^(([01]?\d|2[0-3]):[0-5]\d|24:00)$",
    "description": "HH:MM local time",
}
_TEXT = {"type": "string", "minLength": 1}
_SHELLY_KEYS = ("host", "port", "channel", "username", "password")
_MQTT_KEYS = (
    "command_topic",
    "state_topic",
    "power_topic",
    "availability_topic",
    "payload_on",
    "payload_off",
    "payload_available",
    "payload_not_available",
)

LOAD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "One controllable load: its device and when it should run.",
    "properties": {
        "name": {"type": "string", "description": "what people call it (default: its id)"},
        "adapter": {"enum": list(ADAPTERS), "description": "how it is switched"},
        "host": {**_TEXT, "description": "Shelly: the relay's IP address or host name"},
        "port": {"type": "integer", "minimum": 1, "maximum": 65535, "description": "Shelly: 80"},
        "channel": {"type": "integer", "minimum": 0, "description": "Shelly: relay number (0)"},
        "username": {
            "type": "string",
            "description": "Shelly Gen1 with auth on: the user (Gen2+ is always admin)",
        },
        "password": {
            "type": "string",
            "description": "Shelly with auth on: write !secret name, value in secrets.yaml",
        },
        "command_topic": {**_TEXT, "description": "MQTT: where payload_on/off are published"},
        "state_topic": {**_TEXT, "description": "MQTT: where the device says on or off"},
        "power_topic": {**_TEXT, "description": "MQTT: where the device says its power (W)"},
        "availability_topic": {**_TEXT, "description": "MQTT: where the device says online"},
        "payload_on": {"type": "string", "description": "MQTT: 'on' payload (ON)"},
        "payload_off": {"type": "string", "description": "MQTT: 'off' payload (OFF)"},
        "payload_available": {"type": "string", "description": "MQTT: online payload (online)"},
        "payload_not_available": {
            "type": "string",
            "description": "MQTT: offline payload (offline)",
        },
        "power_w": {
            "type": "number",
            "exclusiveMinimum": 0,
            "description": "what it draws when on (W), for the plan and for solar surplus",
        },
        "run_time": {
            **DURATION,
            "description": "how long it must run each day (required unless opportunistic)",
        },
        "window": {
            "type": "object",
            "description": "when it may run, local time; to not after from: past midnight",
            "properties": {"from": _CLOCK_TIME, "to": _CLOCK_TIME},
            "required": ["from", "to"],
            "additionalProperties": False,
        },
        "min_run": {
            **DURATION,
            "description": "once on, stay on at least this long (10m) unless shed for a "
            "spike, switched off by hand or its window closes",
        },
        "priority": {
            "enum": list(PRIORITIES),
            "description": "essential: never shed; normal (default): planned, shed on a "
            "spike; opportunistic: only on solar surplus",
        },
        "prefer_solar": {
            "type": "boolean",
            "description": "also run outside the plan while PV surplus covers its power",
        },
        "shed_on_spike": {
            "type": "boolean",
            "description": "switch off during a price spike (default true; never essential)",
        },
        "safety_off": {
            **DURATION,
            "description": "Shelly: the relay turns itself off this long after each turn-on "
            "unless renewed (30m), so it does not stay on if Power Master stops; it is renewed "
            "once half has run, so keep it over twice the loads flow's interval",
        },
        "timeout_s": {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": 60,
            "description": "how long to wait for the device (5 s)",
        },
    },
    "required": ["adapter", "power_w"],
    "additionalProperties": False,
    "allOf": [
        {
            "if": {
                "properties": {"adapter": {"enum": list(SHELLY_ADAPTERS)}},
                "required": ["adapter"],
            },
            "then": {"required": ["host"]},
        },
        {
            "if": {"properties": {"adapter": {"const": "mqtt"}}, "required": ["adapter"]},
            "then": {"required": ["command_topic", "state_topic"]},
        },
        {
            "if": {
                "properties": {"priority": {"const": "opportunistic"}},
                "required": ["priority"],
            },
            "else": {"required": ["run_time"]},
        },
    ],
}

#: The ``loads`` section of the site config (merged into powermaster/config.py's SITE_SCHEMA).
SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Controllable loads by id: Shelly relays or MQTT switches, run by the "
    "plan, on solar surplus, or by hand, shed during price spikes.",
    "propertyNames": {"pattern": LOAD_ID_PATTERN},
    "additionalProperties": LOAD_SCHEMA,
}

#: The section's default: no loads.
DEFAULTS: dict[str, Any] = {}

#: What a load that leaves a key out gets (shed_on_spike: true unless essential).
LOAD_DEFAULTS: dict[str, Any] = {
    "port": 80,
    "channel": 0,
    "payload_on": "ON",
    "payload_off": "OFF",
    "payload_available": "online",
    "payload_not_available": "offline",
    "min_run": "10m",
    "priority": "normal",
    "prefer_solar": False,
    "safety_off": "30m",
    "timeout_s": 5.0,
}


@dataclass(frozen=True, slots=True)
class LoadProblem:
    """One thing wrong with the loads section, at a path into the site config."""

    path: tuple[str | int, ...]
    message: str

    def __str__(self) -> str:
        return f"{'.'.join(str(part) for part in self.path)}: {self.message}"


class InvalidLoads(ValueError):
    """A loads section that cannot be used; ``problems`` say what is wrong and where."""

    def __init__(self, problems: list[LoadProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


@dataclass(frozen=True, slots=True)
class LoadConfig:
    """One load's settings with the defaults filled in and durations in seconds."""

    id: str
    name: str
    adapter: str
    power_w: float
    run_time_s: float | None
    window: Window | None
    min_run_s: float
    priority: str
    prefer_solar: bool
    shed_on_spike: bool
    safety_off_s: float
    timeout_s: float
    host: str | None = None
    port: int = 80
    channel: int = 0
    username: str | None = None
    password: Any = None  # a str or a SecretRef: reveal() it at the moment of use
    command_topic: str | None = None
    state_topic: str | None = None
    power_topic: str | None = None
    availability_topic: str | None = None
    payload_on: str = "ON"
    payload_off: str = "OFF"
    payload_available: str = "online"
    payload_not_available: str = "offline"

    @property
    def sheddable(self) -> bool:
        return self.priority != "essential" and self.shed_on_spike

    @property
    def solar(self) -> bool:
        """Runs on PV surplus (outside the plan, for planned loads)."""
        return self.priority == "opportunistic" or self.prefer_solar

    @property
    def planned(self) -> bool:
        """The planner schedules it (opportunistic loads only follow the sun)."""
        return self.priority != "opportunistic" and self.run_time_s is not None

    @property
    def where(self) -> str:
        """The device, for messages: a host or a topic (never a password)."""
        if self.adapter == "mqtt":
            return f"MQTT {self.command_topic}"
        generation = "Gen1" if self.adapter == "shelly_gen1" else "Gen2+"
        return f"Shelly {generation} at {self.host}:{self.port} relay {self.channel}"


def check_loads(section: Any) -> list[LoadProblem]:
    """Every problem with a ``loads`` section: its shape first, then whether it makes sense."""
    problems = _schema_problems(section)
    if problems:
        return problems
    for load_id, raw in section.items():
        problems += _sense_problems(load_id, raw)
    return problems


def load_configs(settings: Mapping[str, Any]) -> dict[str, LoadConfig]:
    """The site's loads by id; raises ``InvalidLoads`` naming every problem."""
    section = settings.get("loads") or {}
    problems = check_loads(section)
    if problems:
        raise InvalidLoads(problems)
    return {load_id: _config(load_id, raw) for load_id, raw in section.items()}


def zone_of(settings: Mapping[str, Any]) -> tzinfo:
    """The site's time zone (site.timezone), UTC when unset or unknown."""
    return site_zone(str((settings.get("site") or {}).get("timezone") or "UTC"))


def _config(load_id: str, raw: Mapping[str, Any]) -> LoadConfig:
    values = {**LOAD_DEFAULTS, **raw}
    window = raw.get("window")
    priority = str(values["priority"])
    run_time = values.get("run_time")
    return LoadConfig(
        id=load_id,
        name=str(values.get("name") or load_id),
        adapter=str(values["adapter"]),
        power_w=float(values["power_w"]),
        run_time_s=None if run_time is None else parse_duration(run_time),
        window=None if window is None else Window.parse(window["from"], window["to"]),
        min_run_s=parse_duration(values["min_run"]),
        priority=priority,
        prefer_solar=bool(values["prefer_solar"]),
        shed_on_spike=bool(values.get("shed_on_spike", priority != "essential")),
        safety_off_s=parse_duration(values["safety_off"]),
        timeout_s=float(values["timeout_s"]),
        host=values.get("host"),
        port=int(values["port"]),
        channel=int(values["channel"]),
        username=values.get("username"),
        password=values.get("password"),
        command_topic=values.get("command_topic"),
        state_topic=values.get("state_topic"),
        power_topic=values.get("power_topic"),
        availability_topic=values.get("availability_topic"),
        payload_on=str(values["payload_on"]),
        payload_off=str(values["payload_off"]),
        payload_available=str(values["payload_available"]),
        payload_not_available=str(values["payload_not_available"]),
    )


def _schema_problems(section: Any) -> list[LoadProblem]:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    problems = []
    for error in sorted(validator.iter_errors(section), key=lambda e: list(map(str, e.path))):
        path = ("loads", *error.absolute_path)
        message = error.message
        if "propertyNames" in error.schema_path:
            message = (
                f"load id {error.instance!r} must start with a letter and hold only "
                "letters, digits, _ and -"
            )
        elif error.validator == "pattern" and error.path and error.path[-1] in ("from", "to"):
            message = f"{error.instance!r} is not a time HH:MM from 00:00 to 24:00"
        problems.append(LoadProblem(path, message))
    return problems


def _sense_problems(load_id: str, raw: Mapping[str, Any]) -> list[LoadProblem]:
    """What a schema cannot say: keys of another adapter, classes and durations that clash."""
    found: list[LoadProblem] = []

    def problem(key: str, message: str) -> None:
        found.append(LoadProblem(("loads", load_id, key), message))

    adapter = raw["adapter"]
    other_keys = _MQTT_KEYS if adapter in SHELLY_ADAPTERS else _SHELLY_KEYS
    for key in other_keys:
        if key in raw:
            owner = "mqtt loads" if adapter in SHELLY_ADAPTERS else "Shelly loads"
            problem(key, f"applies only to {owner}, and this load's adapter is {adapter}")
    if adapter == "shelly_gen2" and raw.get("username", GEN2_USER) != GEN2_USER:
        problem("username", f"Shelly Gen2+ devices always use the user {GEN2_USER!r}")
    if adapter == "shelly_gen1" and ("username" in raw) != ("password" in raw):
        problem("password", "a Gen1 device with auth on needs both username and password")
    priority = raw.get("priority", LOAD_DEFAULTS["priority"])
    if priority == "essential" and raw.get("shed_on_spike"):
        problem("shed_on_spike", "essential loads are never shed; use priority normal to shed")
    safety = parse_duration(raw.get("safety_off", LOAD_DEFAULTS["safety_off"]))
    if safety < MIN_SAFETY_OFF_S:
        problem("safety_off", f"must be at least {MIN_SAFETY_OFF_S:g} s (it is {safety:g} s)")
    if "run_time" in raw:
        run = parse_duration(raw["run_time"])
        window = raw.get("window")
        room = MINUTES_PER_DAY * 60.0
        if window is not None:
            room = Window.parse(window["from"], window["to"]).minutes * 60.0
        if run <= 0:
            problem("run_time", "must be more than 0")
        elif run > room:
            where = f"its window {window['from']}-{window['to']}" if window else "a day"
            problem("run_time", f"{raw['run_time']} does not fit in {where} ({room / 3600:g} h)")
    return found
