"""The ``flexible_loads`` section of site.yaml: loads whose power the plan chooses.

A car charger or a hot-water diverter draws anything from ``min_w`` to ``max_w`` (in
``step_w`` steps), and needs an energy by a deadline: a car "at 80 % by 07:30 on
weekdays" (``target.soc``, from the car's SOC and its ``battery_kwh``), a tank "6 kWh
by 06:00" (``target.energy_kwh``). It may run inside its ``window`` (the car is home
from 18:00); ``mode: solar_only`` feeds it PV surplus alone, ``from_battery: false``
keeps the house battery out of it. ``check_flexible_loads`` finds every problem, each
at its place; ``flexible_configs`` gives the parsed loads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema

from nodes.core.wallclock import DAY_NAMES, parse_days
from nodes.loads.settings import LOAD_ID_PATTERN, LoadProblem
from nodes.loads.window import Window

ADAPTERS = ("mqtt", "openevse", "evcc", "shelly_gen1", "shelly_gen2", "none")
KINDS = ("car", "hot_water", "other")
MODES = ("cheapest", "solar_only")
SECTION = "flexible_loads"

_CLOCK_TIME = {
    "type": "string",
    "pattern": r"^(([01]?\d|2[0-3]):[0-5]\d|24:00)$",
    "description": "HH:MM local time",
}
_TEXT = {"type": "string", "minLength": 1}
_WATTS = {"type": "number", "minimum": 0}

TARGET_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "what it needs by when: energy_kwh, or soc (a car, with battery_kwh)",
    "properties": {
        "energy_kwh": {"type": "number", "minimum": 0, "description": "energy by `by` (kWh)"},
        "soc": {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": 1,
            "description": "the car's SOC by `by`, a fraction (0.8)",
        },
        "by": {**_CLOCK_TIME, "description": "the deadline, local time (07:30)"},
        "days": {
            "description": "the days whose deadline counts: mon..sun, or all, weekdays, "
            "weekends, or a list (all if left out)",
            "anyOf": [
                {"enum": list(DAY_NAMES)},
                {"type": "array", "items": {"enum": list(DAY_NAMES)}, "minItems": 1},
            ],
        },
        "hard": {
            "type": "boolean",
            "description": "met wherever the window allows (true, default) or a price per "
            "kWh short (false)",
        },
        "shortfall_price": {
            "type": "number",
            "minimum": 0,
            "description": "soft target: $ per kWh it may end short (0.50)",
        },
    },
    "required": ["by"],
    "additionalProperties": False,
}

LOAD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "One load whose power the plan chooses: a car charger, a diverter.",
    "properties": {
        "name": {"type": "string", "description": "what people call it (default: its id)"},
        "kind": {"enum": list(KINDS), "description": "car, hot_water or other (car)"},
        "adapter": {
            "enum": list(ADAPTERS),
            "description": "how it is driven: mqtt, openevse, evcc, a Shelly relay, or none "
            "(planned only)",
        },
        "max_w": {**_WATTS, "exclusiveMinimum": 0, "description": "the most it draws (W)"},
        "min_w": {**_WATTS, "description": "the least it runs at once on (W; 6 A: 1380)"},
        "step_w": {**_WATTS, "description": "the steps its power moves in (W; 0: any)"},
        "ramp_w_per_min": {
            **_WATTS,
            "exclusiveMinimum": 0,
            "description": "the fastest its setpoint may rise, W per minute (no limit)",
        },
        "window": {
            "type": "object",
            "description": "when it may run, local time; to not after from: past midnight",
            "properties": {"from": _CLOCK_TIME, "to": _CLOCK_TIME},
            "required": ["from", "to"],
            "additionalProperties": False,
        },
        "target": TARGET_SCHEMA,
        "battery_kwh": {
            "type": "number",
            "exclusiveMinimum": 0,
            "description": "a car's usable battery (kWh), for a SOC target",
        },
        "efficiency": {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": 1,
            "description": "share of the energy drawn that reaches the car's battery (0.9)",
        },
        "assumed_soc": {
            "type": "number",
            "minimum": 0,
            "maximum": 1,
            "description": "the car's SOC when nothing reports it (0.3)",
        },
        "mode": {
            "enum": list(MODES),
            "description": "cheapest (default): the cheapest energy, sun or grid; "
            "solar_only: PV surplus alone",
        },
        "from_battery": {
            "type": "boolean",
            "description": "may the house battery discharge into it (false)",
        },
        "phases": {"enum": [1, 3], "description": "a current-set charger's phases (1)"},
        "voltage": {"type": "number", "exclusiveMinimum": 0, "description": "per phase (230)"},
        "host": {**_TEXT, "description": "OpenEVSE or Shelly: its IP address or host name"},
        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
        "channel": {"type": "integer", "minimum": 0, "description": "Shelly: relay number"},
        "username": {"type": "string", "description": "OpenEVSE/Shelly with auth on"},
        "password": {"type": "string", "description": "write !secret name"},
        "url": {**_TEXT, "description": "evcc: its address (http://evcc.local:7070)"},
        "loadpoint": {"type": "integer", "minimum": 1, "description": "evcc: loadpoint (1)"},
        "command_topic": {**_TEXT, "description": "MQTT: where the setpoint is published"},
        "command_unit": {
            "enum": ["W", "A"],
            "description": "MQTT: the setpoint in watts or amps per phase (W)",
        },
        "power_topic": {**_TEXT, "description": "MQTT: where the charger says its power (W)"},
        "plugged_topic": {**_TEXT, "description": "MQTT: where it says a car is plugged in"},
        "soc_topic": {**_TEXT, "description": "MQTT: the car's SOC (%), e.g. from HA"},
        "availability_topic": {**_TEXT, "description": "MQTT: where it says online"},
        "timeout_s": {"type": "number", "exclusiveMinimum": 0, "maximum": 60},
    },
    "required": ["adapter", "max_w", "target"],
    "additionalProperties": False,
    "allOf": [
        {
            "if": {"properties": {"adapter": {"const": "mqtt"}}, "required": ["adapter"]},
            "then": {"required": ["command_topic"]},
        },
        {
            "if": {
                "properties": {"adapter": {"enum": ["openevse", "shelly_gen1", "shelly_gen2"]}},
                "required": ["adapter"],
            },
            "then": {"required": ["host"]},
        },
        {
            "if": {"properties": {"adapter": {"const": "evcc"}}, "required": ["adapter"]},
            "then": {"required": ["url"]},
        },
    ],
}

SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Loads whose power the plan chooses by id: car chargers (MQTT, OpenEVSE, "
    "evcc), hot-water diverters; each with an energy or SOC target by a deadline.",
    "propertyNames": {"pattern": LOAD_ID_PATTERN},
    "additionalProperties": LOAD_SCHEMA,
}
DEFAULTS: dict[str, Any] = {}

LOAD_DEFAULTS: dict[str, Any] = {
    "kind": "car",
    "min_w": 0.0,
    "step_w": 0.0,
    "efficiency": 0.9,
    "assumed_soc": 0.3,
    "mode": "cheapest",
    "from_battery": False,
    "phases": 1,
    "voltage": 230.0,
    "port": 80,
    "channel": 0,
    "loadpoint": 1,
    "command_unit": "W",
    "timeout_s": 5.0,
}


@dataclass(frozen=True, slots=True)
class Target:
    """What a load needs by a deadline: ``energy_kwh`` drawn, or the car at ``soc``."""

    by_min: int
    energy_kwh: float | None = None
    soc: float | None = None
    days: tuple[int, ...] = tuple(range(7))  # Monday = 0
    hard: bool = True
    shortfall_price: float = 0.5


@dataclass(frozen=True, slots=True)
class FlexConfig:
    """One flexible load's settings with the defaults filled in."""

    id: str
    name: str
    kind: str
    adapter: str
    max_w: float
    min_w: float
    step_w: float
    ramp_w_per_min: float | None
    window: Window | None
    target: Target
    battery_kwh: float | None
    efficiency: float
    assumed_soc: float
    solar_only: bool
    from_battery: bool
    phases: int
    voltage: float
    timeout_s: float
    raw: Mapping[str, Any]

    def get(self, key: str, default: Any = None) -> Any:
        """An adapter's own setting (host, topics, url...), with its default."""
        return self.raw.get(key, LOAD_DEFAULTS.get(key, default))

    def energy_for_soc(self, soc_now: float, soc_wanted: float) -> float:
        """kWh drawn from the wall to take the car from ``soc_now`` to ``soc_wanted``."""
        if self.battery_kwh is None:
            return 0.0
        return max(0.0, soc_wanted - soc_now) * self.battery_kwh / self.efficiency


class InvalidFlexibleLoads(ValueError):
    """A flexible_loads section that cannot be used; ``problems`` say what and where."""

    def __init__(self, problems: list[LoadProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


def check_flexible_loads(section: Any) -> list[LoadProblem]:
    """Every problem with a ``flexible_loads`` section: its shape, then its sense."""
    validator = jsonschema.Draft202012Validator(SCHEMA)
    problems = []
    for error in sorted(validator.iter_errors(section), key=lambda e: list(map(str, e.path))):
        message = error.message
        if "propertyNames" in error.schema_path:
            message = (
                f"load id {error.instance!r} must start with a letter and hold only "
                "letters, digits, _ and -"
            )
        elif error.validator == "pattern" and error.path and error.path[-1] in ("from", "to", "by"):
            message = f"{error.instance!r} is not a time HH:MM from 00:00 to 24:00"
        problems.append(LoadProblem((SECTION, *error.absolute_path), message))
    if problems:
        return problems
    for load_id, raw in section.items():
        problems += _sense_problems(load_id, raw)
    return problems


def flexible_configs(settings: Mapping[str, Any]) -> dict[str, FlexConfig]:
    """The site's flexible loads by id; raises ``InvalidFlexibleLoads`` naming every problem."""
    section = settings.get(SECTION) or {}
    problems = check_flexible_loads(section)
    if problems:
        raise InvalidFlexibleLoads(problems)
    return {load_id: _config(load_id, raw) for load_id, raw in section.items()}


def _config(load_id: str, raw: Mapping[str, Any]) -> FlexConfig:
    values = {**LOAD_DEFAULTS, **raw}
    window = raw.get("window")
    target = raw["target"]
    days = target.get("days")
    return FlexConfig(
        id=load_id,
        name=str(values.get("name") or load_id),
        kind=str(values["kind"]),
        adapter=str(values["adapter"]),
        max_w=float(values["max_w"]),
        # A relay is on or off: it runs at its one power or not at all.
        min_w=float(raw.get("min_w", raw["max_w"] if _relay(raw) else 0.0)),
        step_w=float(values["step_w"]),
        ramp_w_per_min=(
            None if values.get("ramp_w_per_min") is None else float(values["ramp_w_per_min"])
        ),
        window=None if window is None else Window.parse(window["from"], window["to"]),
        target=Target(
            by_min=_minute(target["by"]),
            energy_kwh=None if "energy_kwh" not in target else float(target["energy_kwh"]),
            soc=None if "soc" not in target else float(target["soc"]),
            days=tuple(sorted(parse_days(days))) if days else tuple(range(7)),
            hard=bool(target.get("hard", True)),
            shortfall_price=float(target.get("shortfall_price", 0.5)),
        ),
        battery_kwh=None if raw.get("battery_kwh") is None else float(raw["battery_kwh"]),
        efficiency=float(values["efficiency"]),
        assumed_soc=float(values["assumed_soc"]),
        solar_only=values["mode"] == "solar_only",
        from_battery=bool(values["from_battery"]),
        phases=int(values["phases"]),
        voltage=float(values["voltage"]),
        timeout_s=float(values["timeout_s"]),
        raw=dict(raw),
    )


def _relay(raw: Mapping[str, Any]) -> bool:
    return raw["adapter"] in ("shelly_gen1", "shelly_gen2")


def _minute(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _sense_problems(load_id: str, raw: Mapping[str, Any]) -> list[LoadProblem]:
    """What a schema cannot say: a minimum above the maximum, a SOC target without a car."""
    found: list[LoadProblem] = []

    def problem(key: str, message: str) -> None:
        found.append(LoadProblem((SECTION, load_id, key), message))

    if float(raw.get("min_w", 0.0)) > float(raw["max_w"]):
        problem("min_w", f"min_w {raw['min_w']} W is above max_w ({raw['max_w']} W)")
    target = raw["target"]
    if ("soc" in target) == ("energy_kwh" in target):
        found.append(
            LoadProblem(
                (SECTION, load_id, "target"),
                "give the target energy_kwh (kWh by then) or soc (a car's, 0.8), one of them",
            )
        )
    if "soc" in target and "battery_kwh" not in raw:
        problem("battery_kwh", "a SOC target needs the car's battery_kwh")
    if "soc" in target and raw.get("kind", "car") != "car":
        problem("kind", f"a SOC target is a car's; a {raw['kind']} load gives energy_kwh")
    if _relay(raw) and raw.get("min_w", raw["max_w"]) != raw["max_w"]:
        problem("min_w", "a relay is on or off: set min_w to max_w (or leave it out)")
    return found
