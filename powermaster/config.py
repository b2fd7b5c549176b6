"""The site config: its schema, defaults, and loading with located errors."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from flowengine.errors import InvalidFlows, Problem
from flowengine.registry import default_registry
from flowengine.schema import DURATION
from flowengine.secrets import attach_secrets, load_secrets
from flowengine.settings import object_section
from flowengine.validate import schema_problems
from flowengine.yamlsource import SourceDoc, YamlSyntaxError, parse_file
from nodes.core.wallclock import site_zone
from nodes.inputs.registry import installed as installed_providers
from nodes.planning.targets import lapsed_problems

#: The sections installed node packages own (loads:, billing:, amber:, mqtt:...), each
#: with its schema, defaults and checks: declared by the package, not listed here.
PACKAGE_SECTIONS = default_registry().sections
#: The order sections are shown in (the Settings page, the schema); others follow by name.
SECTION_ORDER = (
    "site",
    "battery",
    "grid",
    "inverter",
    "planner",
    "control",
    "sources",
    "inputs",
    "simulator",
    "health",
    "mqtt",
    "metrics",
)


def _in_order(sections: dict[str, Any]) -> dict[str, Any]:
    first = [name for name in SECTION_ORDER if name in sections]
    return {name: sections[name] for name in [*first, *(n for n in sections if n not in first)]}


#: Where ``!secret name`` values live: beside the site config, never shown anywhere.
SECRETS_FILE = "secrets.yaml"

FRACTION = {"type": "number", "minimum": 0, "maximum": 1}
WATTS = {"type": "number", "minimum": 0}
POSITIVE = {"type": "number", "exclusiveMinimum": 0}
PRICE = {"type": "number", "description": "$/kWh"}


_section = object_section


def _source(kind: str, what: str) -> dict[str, Any]:
    """``sources.<kind>``: one of the providers installed for it, or none."""
    names = sorted({p.name for p in installed_providers() if p.kind == kind} | {"none"})
    return {"enum": names, "description": f"where {what} come from: {', '.join(names)}"}


#: Where each input comes from, as the stale-after and safety-after fields name them.
_INPUT_TITLES = {
    "prices": "Prices",
    "pv": "PV forecast",
    "weather": "Weather forecast",
    "storm": "Storm warnings",
    "usage": "Metered usage",
}
#: A tariff's price band, wherever one is written (import, export, each season's).
_BAND_TITLES = {
    "name": "Name",
    "price": "Price ($/kWh)",
    "from": "From",
    "to": "To",
    "days": "Days",
}
_BANDS = (
    "tariff.import.[]",
    "tariff.export.[]",
    "tariff.seasons.*.import.[]",
    "tariff.seasons.*.export.[]",
)
_LEVELS = {"info": "Info", "warning": "Warning", "critical": "Critical"}

#: A short title for every field of every section, a package's included: what the Settings
#: page labels it with and an editor shows, its unit in brackets. A fraction (0 to 1) takes
#: none: the page shows and edits it as a percent. By path: ``*`` is any key of a mapping,
#: ``[]`` an item of a list; the branches of an ``anyOf`` share their field's title.
TITLES: dict[str, str] = {
    "site": "Site",
    "site.name": "Site name",
    "site.timezone": "Time zone",
    "site.latitude": "Latitude (°)",
    "site.longitude": "Longitude (°)",
    "battery": "Battery",
    "battery.capacity_kwh": "Capacity (kWh)",
    "battery.max_charge_w": "Maximum charge power (W)",
    "battery.max_discharge_w": "Maximum discharge power (W)",
    "battery.charge_efficiency": "Charge efficiency",
    "battery.discharge_efficiency": "Discharge efficiency",
    "battery.soc_min": "Minimum SOC",
    "battery.soc_max": "Maximum SOC",
    "battery.max_temp_c": "Maximum temperature (°C)",
    "battery.min_temp_c": "Minimum temperature (°C)",
    "grid": "Grid connection",
    "grid.max_import_w": "Maximum import (W)",
    "grid.max_export_w": "Maximum export (W)",
    "inverter": "Inverter",
    "inverter.transport": "Transport",
    "inverter.host": "Host",
    "inverter.port": "Port",
    "inverter.serial": "Serial line",
    "inverter.serial.port": "Device",
    "inverter.serial.baudrate": "Baud rate",
    "inverter.serial.bytesize": "Data bits",
    "inverter.serial.parity": "Parity",
    "inverter.serial.stopbits": "Stop bits",
    "inverter.unit_id": "Modbus unit ID",
    "inverter.firmware": "Firmware",
    "inverter.register_function": "Register type",
    "inverter.watchdog_s": "Watchdog (s)",
    "inverter.timeout_s": "Timeout (s)",
    "inverter.max_read_registers": "Registers per read",
    "inverter.max_temp_c": "Maximum temperature (°C)",
    "inverter.fallback_mode": "Fallback work mode",
    "inverter.charge_current_a": "Normal max charge current (A)",
    "planner": "Planner",
    "planner.cycle_cost_per_kwh": "Battery wear ($/kWh)",
    "planner.break_even_delta": "Break-even margin ($/kWh)",
    "planner.allow_grid_charge": "Charge from the grid",
    "planner.arbitrage_export": "Export stored energy for profit",
    "planner.horizon_hours": "Horizon (h)",
    "planner.soft_soc_min": "Soft minimum SOC",
    "planner.soft_soc_max": "Soft maximum SOC",
    "planner.soft_soc_penalty_per_kwh": "Soft SOC penalty ($/kWh)",
    "planner.soc_targets": "SOC targets",
    "planner.soc_targets.[].name": "Name",
    "planner.soc_targets.[].soc": "SOC",
    "planner.soc_targets.[].by": "By (local time)",
    "planner.soc_targets.[].days": "Days",
    "planner.soc_targets.[].date": "Date (once)",
    "planner.soc_targets.[].hard": "Hard",
    "planner.soc_targets.[].shortfall_price": "Shortfall price ($/kWh)",
    "planner.demand_charges": "Demand charges",
    "planner.demand_charges.[].name": "Name",
    "planner.demand_charges.[].price_per_kw": "Price ($/kW of the cycle's peak)",
    "planner.demand_charges.[].from": "From (local time)",
    "planner.demand_charges.[].to": "To (local time)",
    "planner.demand_charges.[].days": "Days",
    "planner.demand_charges.[].peak_so_far_kw": "Peak so far this cycle (kW)",
    "control": "Control",
    "control.mode": "Mode",
    "control.soc_margin": "SOC margin",
    "control.telemetry_stale_after": "Telemetry stale after",
    "control.override_max_duration": "Longest override",
    "control.critical_soc": "Critical SOC",
    "control.soc_hysteresis": "SOC hysteresis",
    "control.degraded_soc_margin": "Degraded SOC margin",
    "control.min_hold": "Minimum hold",
    "control.min_hold.self_use": "Self use",
    "control.min_hold.self_use_zero_export": "Self use, zero export",
    "control.min_hold.force_charge": "Force charge",
    "control.min_hold.force_discharge": "Force discharge",
    "control.min_hold.hold": "Hold",
    "control.max_mode_changes": "Most mode changes",
    "control.mode_change_window": "Mode change window",
    "control.opportunistic": "Opportunistic export",
    "control.opportunistic.enabled": "Enabled",
    "control.opportunistic.default_cost_basis": "Default cost basis ($/kWh)",
    "control.opportunistic.spike_export_price": "Spike export price ($/kWh)",
    "control.schedule": "Schedule",
    "control.schedule.[].name": "Name",
    "control.schedule.[].days": "Days",
    "control.schedule.[].from": "From",
    "control.schedule.[].to": "To",
    "control.schedule.[].mode": "Mode",
    "control.schedule.[].power_w": "Power (W)",
    "control.schedule.[].export_limit_w": "Export limit (W)",
    "sources": "Data sources",
    **{f"sources.{k}": v for k, v in _INPUT_TITLES.items()},
    "inputs": "Inputs",
    "inputs.stale_after": "Stale after",
    **{f"inputs.stale_after.{k}": v for k, v in _INPUT_TITLES.items()},
    "simulator": "Simulator",
    "simulator.soc_initial": "Starting SOC",
    "health": "Health",
    "health.telemetry_degraded_after": "Telemetry degraded after",
    "health.telemetry_safety_after": "Telemetry safety after",
    "health.modbus_degraded_after": "Modbus degraded after (failures)",
    "health.modbus_safety_after": "Modbus safety after (failures)",
    "health.plan_degraded_after": "Plan degraded after",
    "health.plan_safety_after": "Plan safety after",
    "health.input_safety_after": "Input safety after",
    **{f"health.input_safety_after.{k}": v for k, v in _INPUT_TITLES.items() if k != "usage"},
    "mqtt": "MQTT",
    "mqtt.host": "Broker host",
    "mqtt.port": "Port",
    "mqtt.username": "Username",
    "mqtt.password": "Password",
    "mqtt.tls": "TLS",
    "mqtt.tls.ca_file": "CA file",
    "mqtt.tls.certfile": "Client certificate",
    "mqtt.tls.keyfile": "Client key",
    "mqtt.tls.insecure": "Skip the certificate check",
    "mqtt.client_id": "Client ID",
    "mqtt.keepalive_s": "Keep-alive (s)",
    "mqtt.prefix": "Topic prefix",
    "mqtt.reconnect_min_s": "First reconnect delay (s)",
    "mqtt.reconnect_max_s": "Longest reconnect delay (s)",
    "metrics": "Metrics (Prometheus)",
    "metrics.token": "Bearer token",
    "amber": "Amber Electric",
    "amber.base_url": "API root",
    "amber.api_key": "API key",
    "amber.site_id": "Site ID",
    "amber.resolution": "Interval (min)",
    "amber.next": "Forecast intervals",
    "amber.previous": "Past intervals",
    "amber.every": "Fetch every",
    "amber.timeout_s": "Timeout (s)",
    "amber.usage_every": "Fetch usage every",
    "amber.usage_days": "Usage days",
    "bom": "Bureau of Meteorology",
    "bom.host": "FTP host",
    "bom.port": "FTP port",
    "bom.directory": "Directory",
    "bom.warnings": "Warning products",
    "bom.warning_format": "Warning format",
    "bom.precis": "Précis product",
    "bom.location_aac": "Town (AAC)",
    "bom.district_aac": "District (AAC)",
    "bom.area_names": "Area names",
    "bom.every": "Fetch every",
    "bom.every_active": "Fetch every, warning in force",
    "bom.precis_every": "Précis every",
    "bom.timeout_s": "Timeout (s)",
    "history": "History",
    "pv_calibration": "PV calibration",
    "pv_calibration.enabled": "Calibrate PV forecasts",
    "pv_calibration.window_days": "Learn from (days)",
    "pv_calibration.shrink_days": "Trusted half way after (days)",
    "pv_calibration.bin_minutes": "Factor per (minutes)",
    "history.retention": "Retention",
    "history.retention.telemetry_samples": "Telemetry samples",
    "history.retention.history_30min": "Half-hourly history",
    "history.retention.history_daily": "Daily history",
    "history.retention.price_issues": "Price issues",
    "history.retention.forecast_issues": "Forecast issues",
    "history.retention.input_readings": "Input readings",
    "history.retention.input_calls": "Input calls",
    "history.gap_after": "Gap after",
    "homeassistant": "Home Assistant",
    "homeassistant.discovery_prefix": "Discovery prefix",
    "homeassistant.device_id": "Device ID",
    "homeassistant.device_name": "Device name",
    "homeassistant.model": "Model",
    "homeassistant.configuration_url": "Configuration URL",
    "homeassistant.support_url": "Support URL",
    "homeassistant.state_every": "State every",
    "homeassistant.reserve_soc_step": "Reserve SOC step (%)",
    "billing": "Billing",
    "billing.start_day": "Cycle start day",
    "billing.supply_charge": "Supply charge ($/day)",
    "billing.monthly_fee": "Monthly fee ($/month)",
    "loads": "Loads",
    "loads.*.name": "Name",
    "loads.*.adapter": "Adapter",
    "loads.*.host": "Host",
    "loads.*.port": "Port",
    "loads.*.channel": "Relay channel",
    "loads.*.username": "Username",
    "loads.*.password": "Password",
    "loads.*.command_topic": "Command topic",
    "loads.*.state_topic": "State topic",
    "loads.*.power_topic": "Power topic",
    "loads.*.availability_topic": "Availability topic",
    "loads.*.payload_on": "On payload",
    "loads.*.payload_off": "Off payload",
    "loads.*.payload_available": "Online payload",
    "loads.*.payload_not_available": "Offline payload",
    "loads.*.power_w": "Power (W)",
    "loads.*.run_time": "Run time a day",
    "loads.*.window": "Window",
    "loads.*.window.from": "From",
    "loads.*.window.to": "To",
    "loads.*.min_run": "Minimum run",
    "loads.*.priority": "Priority",
    "loads.*.prefer_solar": "Prefer solar",
    "loads.*.shed_on_spike": "Shed on a price spike",
    "loads.*.safety_off": "Safety off after",
    "loads.*.timeout_s": "Timeout (s)",
    "flexible_loads": "Flexible loads",
    "flexible_loads.*.name": "Name",
    "flexible_loads.*.kind": "Kind",
    "flexible_loads.*.adapter": "Adapter",
    "flexible_loads.*.max_w": "Maximum power (W)",
    "flexible_loads.*.min_w": "Minimum power (W)",
    "flexible_loads.*.step_w": "Power step (W)",
    "flexible_loads.*.ramp_w_per_min": "Ramp (W per minute)",
    "flexible_loads.*.window": "Window",
    "flexible_loads.*.window.from": "From",
    "flexible_loads.*.window.to": "To",
    "flexible_loads.*.target": "Target",
    "flexible_loads.*.target.energy_kwh": "Energy (kWh)",
    "flexible_loads.*.target.soc": "Car SOC",
    "flexible_loads.*.target.by": "By",
    "flexible_loads.*.target.days": "Days",
    "flexible_loads.*.target.hard": "Hard",
    "flexible_loads.*.target.shortfall_price": "Shortfall price ($/kWh)",
    "flexible_loads.*.battery_kwh": "Car battery (kWh)",
    "flexible_loads.*.efficiency": "Charging efficiency",
    "flexible_loads.*.assumed_soc": "Assumed car SOC",
    "flexible_loads.*.mode": "Mode",
    "flexible_loads.*.from_battery": "From the house battery",
    "flexible_loads.*.phases": "Phases",
    "flexible_loads.*.voltage": "Voltage (V)",
    "flexible_loads.*.host": "Host",
    "flexible_loads.*.port": "Port",
    "flexible_loads.*.channel": "Relay channel",
    "flexible_loads.*.username": "Username",
    "flexible_loads.*.password": "Password",
    "flexible_loads.*.url": "evcc URL",
    "flexible_loads.*.loadpoint": "evcc loadpoint",
    "flexible_loads.*.command_topic": "Command topic",
    "flexible_loads.*.command_unit": "Command unit",
    "flexible_loads.*.power_topic": "Power topic",
    "flexible_loads.*.plugged_topic": "Plugged-in topic",
    "flexible_loads.*.soc_topic": "Car SOC topic",
    "flexible_loads.*.availability_topic": "Availability topic",
    "flexible_loads.*.timeout_s": "Timeout (s)",
    "notify": "Notifications",
    "notify.cooldown": "Cooldown",
    "notify.cooldowns": "Cooldowns by event",
    "notify.ntfy": "ntfy",
    "notify.ntfy.server": "Server",
    "notify.ntfy.topic": "Topic",
    "notify.ntfy.token": "Access token",
    "notify.ntfy.username": "Username",
    "notify.ntfy.password": "Password",
    "notify.ntfy.priorities": "Priorities",
    **{f"notify.ntfy.priorities.{k}": v for k, v in _LEVELS.items()},
    "notify.ntfy.tags": "Tags",
    "notify.pushover": "Pushover",
    "notify.pushover.token": "Application token",
    "notify.pushover.user": "User key",
    "notify.pushover.device": "Device",
    "notify.pushover.priorities": "Priorities",
    **{f"notify.pushover.priorities.{k}": v for k, v in _LEVELS.items()},
    "notify.pushover.base_url": "API address",
    "notify.telegram": "Telegram",
    "notify.telegram.token": "Bot token",
    "notify.telegram.chat_id": "Chat ID",
    "notify.telegram.parse_mode": "Parse mode",
    "notify.telegram.base_url": "API address",
    "notify.webhook": "Webhook",
    "notify.webhook.url": "URL",
    "notify.webhook.headers": "Headers",
    "notify.email": "Email",
    "notify.email.host": "SMTP server",
    "notify.email.port": "Port",
    "notify.email.security": "Security",
    "notify.email.username": "Username",
    "notify.email.password": "Password",
    "notify.email.from": "From",
    "notify.email.to": "To",
    "notify.email.subject_prefix": "Subject prefix",
    "notify.email.ca_file": "CA file",
    "notify.email.timeout_s": "Timeout (s)",
    "notify.email.helo": "HELO name",
    "solcast": "Solcast",
    "solcast.base_url": "API root",
    "solcast.api_key": "API key",
    "solcast.resource_ids": "Rooftop site IDs",
    "solcast.daily_limit": "Calls a day",
    "solcast.hours": "Hours ahead",
    "solcast.timeout_s": "Timeout (s)",
    "solcast.fetch_times": "Fetch times",
    "solcast.retry_failed_after": "Retry a failure after",
    "forecast_solar": "Forecast.Solar",
    "forecast_solar.base_url": "API root",
    "forecast_solar.latitude": "Latitude (°)",
    "forecast_solar.longitude": "Longitude (°)",
    "forecast_solar.planes": "Roof planes",
    "forecast_solar.planes.[].declination": "Tilt (°)",
    "forecast_solar.planes.[].azimuth": "Azimuth (°)",
    "forecast_solar.planes.[].kwp": "Peak power (kWp)",
    "forecast_solar.every": "Fetch every",
    "forecast_solar.timeout_s": "Timeout (s)",
    "storm": "Storm reserve",
    "storm.arm_probability": "Arm at storm risk",
    "storm.disarm_probability": "Disarm below storm risk",
    "storm.reserve_soc": "Reserve SOC",
    "storm.lead": "Lead time",
    "storm.horizon": "Look ahead",
    "tariff": "Tariff",
    "tariff.import": "Import prices",
    "tariff.export": "Feed-in prices",
    "tariff.seasons": "Seasons",
    "tariff.seasons.*.from": "First day",
    "tariff.seasons.*.to": "Last day",
    "tariff.seasons.*.import": "Import prices",
    "tariff.seasons.*.export": "Feed-in prices",
    **{f"{band}.{k}": v for band in _BANDS for k, v in _BAND_TITLES.items()},
    "tariff.supply_charge": "Supply charge ($/day)",
    "tariff.monthly_fee": "Monthly fee ($/month)",
    "tariff.every": "Recompute every",
    "open_meteo": "Open-Meteo",
    "open_meteo.base_url": "API root",
    "open_meteo.latitude": "Latitude (°)",
    "open_meteo.longitude": "Longitude (°)",
    "open_meteo.forecast_days": "Forecast days",
    "open_meteo.every": "Fetch every",
    "open_meteo.timeout_s": "Timeout (s)",
}

#: Help for a package's fields that say nothing themselves (a field's own description wins).
DESCRIPTIONS: dict[str, str] = {
    "inverter.host": "the Modbus gateway's address (tcp, rtu_over_tcp, udp)",
    "inverter.port": "the gateway's port",
    "inverter.unit_id": "the inverter's Modbus address",
    "inverter.watchdog_s": "the inverter ends remote control by itself if it is not refreshed "
    "within this",
    "inverter.timeout_s": "how long to wait for each Modbus answer",
    "inverter.max_temp_c": "hotter than this, nothing is forced: the inverter's own self-use "
    "(safety)",
    "planner.cycle_cost_per_kwh": "the battery's wear: what each kWh it discharges costs the plan",
    "planner.break_even_delta": "what exporting stored energy must earn per kWh beyond its wear "
    "(the opportunistic export asks it too)",
    "planner.allow_grid_charge": "the plan may charge the battery from the grid",
    "planner.arbitrage_export": "the plan may export stored energy when the price is right",
    "planner.horizon_hours": "how far ahead the plan looks",
    "planner.soft_soc_min": "the plan pays the soft SOC penalty for each kWh below this "
    "(unset: no soft floor)",
    "planner.soft_soc_max": "and for each kWh above this (unset: no soft ceiling)",
    "planner.soft_soc_penalty_per_kwh": "what each kWh outside the soft limits costs the plan",
    "control.soc_margin": "forcing stops this far inside soc_min and soc_max",
    "health.modbus_safety_after": "consecutive failed Modbus exchanges",
    "sources": "where each input comes from",
    "inputs.stale_after": "past this, an input's last good reading counts as stale",
}


def _entitled(
    schema: dict[str, Any],
    path: tuple[str, ...] = (),
    branch: bool = False,
) -> dict[str, Any]:
    """``schema`` with ``TITLES`` and ``DESCRIPTIONS`` put in, copied where they go in: a
    package's schema, and the pieces its fields share (a duration, a fraction), stay as they
    were. A branch of an ``anyOf`` is its field's, titled once, on the field."""
    out = dict(schema)
    where = ".".join(path)
    if path and not branch:
        if "title" not in schema and where in TITLES:
            out["title"] = TITLES[where]
        if "description" not in schema and where in DESCRIPTIONS:
            out["description"] = DESCRIPTIONS[where]
    if isinstance(schema.get("properties"), dict):
        out["properties"] = {
            key: _entitled(child, (*path, key)) for key, child in schema["properties"].items()
        }
    if isinstance(schema.get("items"), dict):
        out["items"] = _entitled(schema["items"], (*path, "[]"))
    if isinstance(schema.get("additionalProperties"), dict):
        out["additionalProperties"] = _entitled(schema["additionalProperties"], (*path, "*"))
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list):
            out[key] = [_entitled(choice, path, branch=True) for choice in schema[key]]
    return out


SITE_SCHEMA: dict[str, Any] = _entitled(
    {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Power Master site config",
        "type": "object",
        "properties": _in_order(
            {
                "site": _section(
                    {
                        "name": {"type": "string", "description": "what this site is called"},
                        "timezone": {
                            "type": "string",
                            "description": "an IANA time zone "
                            "(Australia/Brisbane): every time shown, and the site's days, "
                            "are in it",
                        },
                        "latitude": {
                            "type": "number",
                            "minimum": -90,
                            "maximum": 90,
                            "description": "where the site is: the forecasts' default",
                        },
                        "longitude": {
                            "type": "number",
                            "minimum": -180,
                            "maximum": 180,
                            "description": "where the site is: the forecasts' default",
                        },
                    }
                ),
                "battery": _section(
                    {
                        "capacity_kwh": {**POSITIVE, "description": "the energy the battery holds"},
                        "max_charge_w": {**WATTS, "description": "the most it is charged at"},
                        "max_discharge_w": {**WATTS, "description": "the most it is discharged at"},
                        "charge_efficiency": {
                            "type": "number",
                            "exclusiveMinimum": 0,
                            "maximum": 1,
                            "description": "the share of the energy put in that is stored",
                        },
                        "discharge_efficiency": {
                            "type": "number",
                            "exclusiveMinimum": 0,
                            "maximum": 1,
                            "description": "the share of the stored energy that comes out",
                        },
                        "soc_min": {
                            **FRACTION,
                            "description": "the plan and the control tick never take "
                            "the battery below this state of charge",
                        },
                        "soc_max": {
                            **FRACTION,
                            "description": "the plan and the control tick never "
                            "charge it above this one (above the minimum)",
                        },
                        "max_temp_c": {
                            "type": "number",
                            "description": "hotter than this, nothing is "
                            "forced: the inverter's own self-use (safety)",
                        },
                        "min_temp_c": {
                            "type": "number",
                            "description": "colder than this, nothing is forced either",
                        },
                    }
                ),
                "grid": _section(
                    {
                        "max_import_w": {
                            **WATTS,
                            "description": "the most drawn from the grid (the plan's limit)",
                        },
                        "max_export_w": {
                            **WATTS,
                            "description": "the most sent to the grid (the plan's limit)",
                        },
                    }
                ),
                "sources": _section(
                    {
                        "prices": _source("prices", "import and feed-in prices"),
                        "pv": _source("pv", "the PV forecast"),
                        "weather": _source("weather", "the weather forecast"),
                        "storm": _source("storm", "storm warnings"),
                        "usage": _source(
                            "usage",
                            "the retailer's metered usage the ledger settles against "
                            "(sample: the simulated site's meter)",
                        ),
                    }
                ),
                "inputs": _section(
                    {
                        "stale_after": _section(
                            {
                                "prices": DURATION,
                                "pv": DURATION,
                                "weather": DURATION,
                                "storm": DURATION,
                                "usage": DURATION,
                            }
                        )
                    }
                ),
                "simulator": _section(
                    {
                        "soc_initial": {
                            **FRACTION,
                            "description": "the simulated battery's state of charge when it starts",
                        }
                    }
                ),
                "metrics": {
                    **_section(
                        {
                            "token": {
                                "description": "the bearer token Prometheus scrapes /metrics "
                                "with: write !secret metrics_token"
                            }
                        }
                    ),
                    "description": "Prometheus's access to /metrics",
                },
                **{name: section.schema for name, section in PACKAGE_SECTIONS.items()},
            }
        ),
        "additionalProperties": False,
    }
)

DEFAULTS: dict[str, Any] = _in_order(
    {
        "site": {
            "name": "Power Master site",
            "timezone": "Australia/Brisbane",
            "latitude": -27.47,
            "longitude": 153.03,
        },
        "battery": {
            "capacity_kwh": 10.4,
            "max_charge_w": 5000,
            "max_discharge_w": 5000,
            "charge_efficiency": 0.95,
            "discharge_efficiency": 0.95,
            "soc_min": 0.10,
            "soc_max": 1.0,
            "max_temp_c": 50,
            "min_temp_c": 0,
        },
        "grid": {"max_import_w": 15000, "max_export_w": 5000},
        "sources": {
            "prices": "sample",
            "pv": "sample",
            "weather": "none",
            "storm": "none",
            "usage": "sample",
        },
        "inputs": {
            "stale_after": {
                "prices": "45m",
                "pv": "8h",
                "weather": "6h",
                "storm": "1h",
                "usage": "3d",
            }
        },
        "simulator": {"soc_initial": 0.5},
        "metrics": {},
        **{
            name: copy.deepcopy(section.defaults)
            for name, section in PACKAGE_SECTIONS.items()
            if section.defaults is not None
        },
    }
)


def load_site_config(path: Path, now: float | None = None) -> dict[str, Any]:
    """Read, validate and fill in defaults; raises ``InvalidFlows`` with located problems
    (with ``now``, what has lapsed by then too: ``time_problems``)."""
    try:
        doc = parse_file(path)
    except YamlSyntaxError as exc:
        raise InvalidFlows([exc.problem]) from None
    return load_site_config_doc(doc, path, now)


def load_site_config_doc(doc: SourceDoc, path: Path, now: float | None = None) -> dict[str, Any]:
    """A parsed site config, checked as if it were the file at ``path`` (its secrets are
    those beside ``path``) and filled in; raises ``InvalidFlows`` with located problems."""
    problems = check_site_config(doc, path.parent / SECRETS_FILE, now=now)
    if problems:
        raise InvalidFlows(problems)
    return merge_defaults(doc.data)


def check_site_config(
    doc: SourceDoc,
    secrets_file: Path,
    new_secrets: Mapping[str, str] | None = None,
    now: float | None = None,
) -> list[Problem]:
    """Every problem with a parsed site config (schema, consistency, secrets), each made by
    ``doc.problem``; binds its ``!secret`` values (``new_secrets`` over the file's). With
    ``now`` (``power-master validate``, a Settings edit), what has lapsed by then too."""
    data = doc.data if doc.data is not None else {}
    doc.data = data
    problems = schema_problems(doc, SITE_SCHEMA)
    if not problems:
        problems = _check_consistency(doc, data)
    if not problems and now is not None:
        problems = time_problems(doc, data, now)
    if not problems:
        problems = _attach_secrets(doc, data, secrets_file, new_secrets or {})
    return problems


def time_problems(doc: Any, data: Mapping[str, Any], now: float) -> list[Problem]:
    """What the time ``now`` makes wrong in a schema-valid site config: a one-off SOC
    target (``planner.soc_targets``, with a ``date``) already past would never set a
    target. Loading the files at start never asks (a target that lapsed while the
    service ran is no reason to refuse them): the plan says so instead."""
    zone = site_zone(str((data.get("site") or {}).get("timezone") or "UTC"))
    raw = (data.get("planner") or {}).get("soc_targets")
    return [
        doc.problem(tuple(problem.path), problem.message)
        for problem in lapsed_problems(raw, now, zone)
    ]


def _attach_secrets(
    doc: Any, data: dict[str, Any], secrets_file: Path, new_secrets: Mapping[str, str]
) -> list[Problem]:
    """Bind ``!secret`` values from the secrets file beside the config; name the missing."""
    try:
        secrets = {**load_secrets(secrets_file), **new_secrets}
    except YamlSyntaxError as exc:  # its message names a line and a reason, never the text
        problem = exc.problem
        return [
            doc.problem(
                (),
                f"cannot read {secrets_file.name} (line {problem.line}, "
                f"column {problem.column}): {problem.message}",
            )
        ]
    except (OSError, ValueError, yaml.YAMLError) as exc:
        # Never the parser's own message: it quotes the line, and the line is a secret.
        where = getattr(getattr(exc, "problem_mark", None), "line", None)
        at = "" if where is None else f" (line {where + 1})"
        return [doc.problem((), f"cannot read {secrets_file.name}{at}: {type(exc).__name__}")]
    return [
        doc.problem(where, f"secret {data_at(data, where)!s} is not defined in {secrets_file.name}")
        for where in attach_secrets(data, secrets)
    ]


def data_at(data: Any, path: tuple[str | int, ...]) -> Any:
    for key in path:
        data = data[key]
    return data


def merge_defaults(data: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(DEFAULTS)
    for section, values in data.items():
        merged.setdefault(section, {}).update(values)
    return merged


def _check_consistency(doc: Any, data: dict[str, Any]) -> list[Problem]:
    problems = [
        doc.problem(tuple(problem.path), problem.message)
        for section in PACKAGE_SECTIONS.values()
        if section.check is not None
        for problem in section.check(data)
    ]
    return problems or _check_battery(doc, data)


def _check_battery(doc: Any, data: dict[str, Any]) -> list[Problem]:
    battery = {**DEFAULTS["battery"], **data.get("battery", {})}
    if battery["soc_min"] >= battery["soc_max"]:
        return [
            doc.problem(
                ("battery", "soc_min"),
                f"battery soc_min ({battery['soc_min']}) must be below "
                f"soc_max ({battery['soc_max']})",
            )
        ]
    return []
