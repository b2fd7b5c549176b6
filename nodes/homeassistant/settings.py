"""The ``homeassistant`` section of site.yaml: where we publish and what HA calls us.

Everything HA keys on (the device id, the prefixes) is checked here, once, so a
bad value is named with its setting instead of surfacing as an entity HA
silently ignores.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flowengine.schema import DURATION

#: What HA accepts in a discovery topic's node and object ids.
OBJECT_ID_PATTERN = r"^[a-zA-Z0-9_-]+$"
#: An MQTT topic prefix we publish under: levels without wildcards, none empty.
TOPIC_PREFIX_PATTERN = r"^[^/#+\x00]+(/[^/#+\x00]+)*$"
#: HA refuses a device config whose configuration or support URL is not http(s).
URL_PATTERN = r"^https?://[^\s/$.?#][^\s]*$"

DEFAULTS: dict[str, Any] = {
    "discovery_prefix": "homeassistant",
    "device_id": "power_master",
    "device_name": "Power Master",
    "model": "Fox ESS KH controller",
    "reserve_soc_step": 5,
    "state_every": "30s",
}

SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Home Assistant over MQTT: discovery, states and commands.",
    "properties": {
        "discovery_prefix": {
            "type": "string",
            "pattern": TOPIC_PREFIX_PATTERN,
            "description": "HA's discovery prefix (homeassistant)",
        },
        "device_id": {
            "type": "string",
            "pattern": OBJECT_ID_PATTERN,
            "description": "the HA device id and the start of every unique id; never change "
            "it once HA knows the device (letters, digits, _ and -)",
        },
        "device_name": {"type": "string", "minLength": 1},
        "model": {"type": "string"},
        "configuration_url": {
            "type": "string",
            "pattern": URL_PATTERN,
            "description": "this site's web UI (http://...): HA links the device to it",
        },
        "support_url": {
            "type": "string",
            "pattern": URL_PATTERN,
            "description": "where to get help with Power Master (default: configuration_url)",
        },
        "state_every": {
            **DURATION,
            "description": "how often the state goes to <prefix>/state (30s, 1m...)",
        },
        "reserve_soc_step": {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": 50,
            "description": "the reserve SOC slider's step, in % (5)",
        },
    },
    "additionalProperties": False,
}


class SettingsError(ValueError):
    """A ``homeassistant`` (or battery) setting HA could not use, named with its path."""


@dataclass(frozen=True, slots=True)
class HomeAssistantSettings:
    discovery_prefix: str
    topic_prefix: str
    device_id: str
    device_name: str
    model: str
    configuration_url: str | None
    support_url: str | None
    #: The reserve SOC number's range and step, in whole percent.
    reserve_min_pct: float
    reserve_max_pct: float
    reserve_step_pct: float

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> HomeAssistantSettings:
        section = {**DEFAULTS, **(settings.get("homeassistant") or {})}
        battery = settings.get("battery") or {}
        step = _number(section["reserve_soc_step"], "homeassistant.reserve_soc_step")
        if step <= 0:
            raise SettingsError(f"homeassistant.reserve_soc_step must be above 0, not {step:g}")
        low = math.ceil(round(_number(battery.get("soc_min", 0.0), "battery.soc_min") * 100, 6))
        high = math.floor(round(_number(battery.get("soc_max", 1.0), "battery.soc_max") * 100, 6))
        if not 0 <= low < high <= 100:
            raise SettingsError(
                f"battery.soc_min ({low} %) and battery.soc_max ({high} %) leave no range "
                "for the reserve SOC"
            )
        return cls(
            discovery_prefix=_prefix(section["discovery_prefix"], "discovery_prefix"),
            # One prefix for everything we publish: the broker's (its last will is there too).
            topic_prefix=_prefix(
                (settings.get("mqtt") or {}).get("prefix") or "power_master", "prefix", "mqtt"
            ),
            device_id=check_object_id(section["device_id"], "homeassistant.device_id"),
            device_name=_text(section["device_name"], "device_name"),
            model=_text(section["model"], "model"),
            configuration_url=_url(section.get("configuration_url"), "configuration_url"),
            support_url=_url(section.get("support_url"), "support_url"),
            reserve_min_pct=float(low),
            reserve_max_pct=float(high),
            reserve_step_pct=step,
        )


def check_object_id(value: Any, what: str) -> str:
    """``value`` if HA accepts it as a discovery id, else a ``SettingsError`` naming ``what``."""
    if not isinstance(value, str) or not re.fullmatch(OBJECT_ID_PATTERN, value):
        raise SettingsError(
            f"{what} must be letters, digits, _ or - only (HA ignores other ids), not {value!r}"
        )
    return value


def _prefix(value: Any, name: str, section: str = "homeassistant") -> str:
    if not isinstance(value, str) or not re.fullmatch(TOPIC_PREFIX_PATTERN, value):
        raise SettingsError(
            f"{section}.{name} must be an MQTT topic without wildcards (+, #), empty "
            f"levels or a leading or trailing /, not {value!r}"
        )
    return value


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SettingsError(f"{what} must be a number, not {value!r}")
    return float(value)


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SettingsError(f"homeassistant.{name} must be some text, not {value!r}")
    return value.strip()


def _url(value: Any, name: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not re.fullmatch(URL_PATTERN, value):
        raise SettingsError(
            f"homeassistant.{name} must be an http:// or https:// URL (HA refuses the "
            f"device otherwise), not {value!r}"
        )
    return value
