"""Controllable loads: Shelly relays and MQTT switches run by the plan, the sun and people.

``loads.manage`` is the node; ``nodes.loads.manager`` the pure decision per
load; ``nodes.loads.settings`` the site config's ``loads`` section
(``SETTINGS_SCHEMA``, ``SETTINGS_DEFAULTS``, ``SETTINGS_CHECKS``, offered the
way provider packages offer theirs); ``run_today`` says how long each has run
today (the planner turns the loads into its deferrable loads itself:
``nodes.planning.deferrable``); ``set_load_command`` stores a manual command.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flowengine.registry import Declared
from flowengine.settings import sections_from
from nodes.loads.commands import InvalidLoadCommand, active_commands, set_load_command
from nodes.loads.device import LoadAuthFailed, LoadReading, LoadUnavailable
from nodes.loads.manage import ManageLoads
from nodes.loads.manager import LoadDecision, ManualCommand, Observation, Tick, decide
from nodes.loads.mqtt_switch import MqttClient, MqttSwitch
from nodes.loads.run_day import run_today
from nodes.loads.settings import DEFAULTS, SCHEMA, LoadConfig, check_loads, load_configs
from nodes.loads.shelly_gen1 import ShellyGen1
from nodes.loads.shelly_gen2 import ShellyGen2

NODE_TYPES: list[Declared] = [ManageLoads]
SETTINGS_SCHEMA: dict[str, dict[str, Any]] = {"loads": SCHEMA}
SETTINGS_DEFAULTS: dict[str, Any] = {"loads": DEFAULTS}
SETTINGS_CHECKS: dict[str, Callable[[Any], list[Any]]] = {"loads": check_loads}

NODE_TYPES += sections_from(SETTINGS_SCHEMA, SETTINGS_DEFAULTS, SETTINGS_CHECKS, owner=__name__)

__all__ = [
    "NODE_TYPES",
    "SETTINGS_CHECKS",
    "SETTINGS_DEFAULTS",
    "SETTINGS_SCHEMA",
    "InvalidLoadCommand",
    "LoadAuthFailed",
    "LoadConfig",
    "LoadDecision",
    "LoadReading",
    "LoadUnavailable",
    "ManageLoads",
    "ManualCommand",
    "MqttClient",
    "MqttSwitch",
    "Observation",
    "ShellyGen1",
    "ShellyGen2",
    "Tick",
    "active_commands",
    "check_loads",
    "decide",
    "load_configs",
    "run_today",
    "set_load_command",
]
