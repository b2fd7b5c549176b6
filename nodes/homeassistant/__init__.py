"""Home Assistant over MQTT: what is published, and how commands are read (no I/O here).

``discovery`` builds the one retained device config, ``state`` the state
messages, ``commands`` turns a command into a checked action; the MQTT
connection and the node that publishes live elsewhere and call these.

Topic layout (``<p>`` = ``mqtt.prefix``, default
``power_master``; ``<d>`` = ``homeassistant.discovery_prefix``, default
``homeassistant``; ``<id>`` = ``homeassistant.device_id``; ``<load>`` = a load's
id: its key in settings ``loads`` as it is, or with each run of anything but
letters, digits, ``_`` and ``-`` made ``_``; ``<flex>`` = a flexible load's key in
settings ``flexible_loads``). The layout is stable: fleet tools
read these topics too.

| Topic | Way | Retain | QoS | Payload |
|---|---|---|---|---|
| ``<d>/device/<id>/config`` | out | yes | 1 | discovery JSON (``dev``, ``o``, ``cmps``) |
| ``<d>/status`` | in | - | 1 | HA's ``online``: discovery and states again (5 s apart) |
| ``<p>/status`` | out | yes | 1 | ``online``; ``offline`` (last will, clean stop) |
| ``<p>/state`` | out | no | 0 | JSON every 10-30 s and on a change (keys below) |
| ``<p>/override/mode/state`` | out | yes | 1 | ``auto`` or the override's mode |
| ``<p>/override/mode/set`` | in | - | 1 | ``auto``, a mode, or JSON (``commands``) |
| ``<p>/config/reserve_soc/state`` | out | yes | 1 | storm reserve SOC in % (``80``) |
| ``<p>/config/reserve_soc/set`` | in | - | 1 | a number of % in the slider's range |
| ``<p>/target/soc/state`` | out | yes | 1 | the SOC target chosen, in % |
| ``<p>/target/soc/set`` | in | - | 1 | a number of % in the number's range |
| ``<p>/target/by/state`` | out | yes | 1 | its time of day, ``HH:MM`` |
| ``<p>/target/by/set`` | in | - | 1 | ``HH:MM`` |
| ``<p>/target/hard/state`` | out | yes | 1 | ``ON`` or ``OFF`` |
| ``<p>/target/hard/set`` | in | - | 1 | ``ON`` or ``OFF`` |
| ``<p>/target/active/state`` | out | yes | 1 | ``ON`` while HA's target is to come |
| ``<p>/target/active/set`` | in | - | 1 | ``ON`` sets it, ``OFF`` cancels it |
| ``<p>/load/<load>/state`` | out | yes | 1 | ``ON``, ``OFF`` or ``None`` (unknown) |
| ``<p>/load/<load>/set`` | in | - | 1 | ``ON`` or ``OFF`` |
| ``<p>/flexible/<flex>/state`` | out | no | 0 | a flexible load's JSON, with ``<p>/state`` |
| ``<p>/flexible/<flex>/target/soc/state`` | out | yes | 1 | its target SOC chosen, % (a car) |
| ``<p>/flexible/<flex>/target/soc/set`` | in | - | 1 | a number of %, 1 to 100 |
| ``<p>/flexible/<flex>/target/energy/state`` | out | yes | 1 | its target energy, kWh (else) |
| ``<p>/flexible/<flex>/target/energy/set`` | in | - | 1 | a number of kWh in the number's range |
| ``<p>/flexible/<flex>/target/by/state`` | out | yes | 1 | its time of day, ``HH:MM`` |
| ``<p>/flexible/<flex>/target/by/set`` | in | - | 1 | ``HH:MM`` |
| ``<p>/flexible/<flex>/target/active/state`` | out | yes | 1 | ``ON`` while HA's is to come |
| ``<p>/flexible/<flex>/target/active/set`` | in | - | 1 | ``ON`` sets it, ``OFF`` cancels it |

``<p>/state`` keys (null when unknown): ``timestamp`` and ``telemetry_at`` (ISO
8601 UTC), ``battery_soc`` (%), ``pv_w``, ``load_w``, ``battery_w`` (+ =
charging), ``grid_w`` (+ = importing), ``grid_import_kwh``,
``grid_export_kwh``, ``pv_kwh``, ``battery_charge_kwh``,
``battery_discharge_kwh``, ``load_kwh`` (inverter totals), ``import_price``,
``export_price`` (AUD/kWh, the interval now; export = what exporting earns),
``mode``, ``level``, ``reason`` (the control decision), ``health`` (ok,
degraded, safety), ``storm_armed`` (ON/OFF), ``storm_reserve_soc`` (%, 0 when
not armed), ``storm_probability`` (%).

Entities (unique id ``<id>_<key>``): sensors ``battery_soc``, ``pv_power``,
``home_power`` (the house load), ``grid_power``, ``battery_power``,
``import_price``, ``export_price``, ``grid_import_energy``, ``grid_export_energy``,
``pv_energy``, ``battery_charge_energy``, ``battery_discharge_energy``,
``home_energy``, ``control_mode``, ``control_level``, ``control_reason``,
``health``, ``storm_reserve``, ``storm_probability``, ``last_update``; binary
sensor ``storm_reserve_armed``; select ``override_mode``; number
``reserve_soc``; the SOC target's number ``target_soc``, text ``target_by`` and
switches ``target_hard`` and ``target`` (nodes/homeassistant/target.py); a
switch ``load_<load>`` per load; per flexible load, ``flex_<flex>_<what>``
(``discovery.FLEXIBLE``): sensors ``power``, ``setpoint``, ``session_energy``,
``planned_energy``, ``needed_energy``, ``deadline``, ``reason``, ``mode`` (and for a
car ``car_soc`` and the binary sensor ``plugged``), the one-off target's number
``target``, text ``target_by`` and switch ``target_active``
(nodes/homeassistant/flexible.py).

``<p>/flexible/<flex>/state`` keys (null when unknown): ``power_w``, ``setpoint_w``,
``session_kwh``, ``planned_kwh`` (the plan's), ``needed_kwh``, ``deadline`` (ISO 8601,
the site's offset), ``reason``, ``plugged`` (ON/OFF), ``soc`` (the car's, %), ``mode``.
"""

from __future__ import annotations

from typing import Any

from flowengine.registry import Declared
from flowengine.settings import sections_from
from nodes.homeassistant import settings
from nodes.homeassistant.bridge import HomeAssistantBridge
from nodes.homeassistant.commands import (
    ClearOverride,
    Command,
    CommandError,
    SetFlexibleBy,
    SetFlexibleTarget,
    SetOverride,
    SetReserveSoc,
    SetTargetBy,
    SetTargetHard,
    SetTargetSoc,
    SwitchFlexibleTarget,
    SwitchLoad,
    SwitchTarget,
    parse_command,
)
from nodes.homeassistant.discovery import Discovery, announced_in, build_discovery
from nodes.homeassistant.settings import HomeAssistantSettings, SettingsError
from nodes.homeassistant.state import build_state, encode, entity_states, flexible_state
from nodes.homeassistant.topics import Load, Topics, loads_from

NODE_TYPES: list[Declared] = [HomeAssistantBridge]
SETTINGS_SCHEMA: dict[str, dict[str, Any]] = {"homeassistant": settings.SCHEMA}
SETTINGS_DEFAULTS: dict[str, dict[str, Any]] = {"homeassistant": settings.DEFAULTS}

NODE_TYPES += sections_from(SETTINGS_SCHEMA, SETTINGS_DEFAULTS, {}, owner=__name__)

__all__ = [
    "NODE_TYPES",
    "SETTINGS_DEFAULTS",
    "SETTINGS_SCHEMA",
    "ClearOverride",
    "Command",
    "CommandError",
    "Discovery",
    "HomeAssistantSettings",
    "Load",
    "SetFlexibleBy",
    "SetFlexibleTarget",
    "SetOverride",
    "SetReserveSoc",
    "SetTargetBy",
    "SetTargetHard",
    "SetTargetSoc",
    "SettingsError",
    "SwitchFlexibleTarget",
    "SwitchLoad",
    "SwitchTarget",
    "Topics",
    "announced_in",
    "build_discovery",
    "build_state",
    "encode",
    "entity_states",
    "flexible_state",
    "loads_from",
    "parse_command",
]
