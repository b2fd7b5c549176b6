"""What Home Assistant does with our messages, written down from HA core so tests can ask it.

From ``homeassistant/components/mqtt``: ``discovery.py`` (a device config fans out
into one config per component; a component left with nothing but its platform
removes that component; shared options are inherited where a component does not
set them), ``schemas.py`` (``DEVICE_DISCOVERY_SCHEMA`` requires ``device``,
``origin`` and ``components``; ``check_unique_id`` requires a unique id on an
entity component with more than its platform), ``abbreviations.py``; and
``sensor.py``, ``binary_sensor.py``, ``switch.py``, ``text.py`` for what a rendered value
template becomes (``None`` means unknown). The templates are rendered with
Jinja2 as HA does (HA adds filters of its own; ours use only Jinja's).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import jinja2

TOP = {"dev": "device", "o": "origin", "cmps": "components", "avty_t": "availability_topic"}
DEVICE = {
    "ids": "identifiers",
    "mf": "manufacturer",
    "mdl": "model",
    "sw": "sw_version",
    "cu": "configuration_url",
    "name": "name",
}
ORIGIN = {"name": "name", "sw": "sw_version", "url": "support_url"}
SHARED_OPTIONS = ("availability_topic", "state_topic", "command_topic", "qos", "encoding")
ENTITY_PLATFORMS = ("sensor", "binary_sensor", "switch", "select", "number", "text")
#: protocols.md §7.2, plus min/max/step for a number (always set, §7.2 says).
REQUIRED = {
    "sensor": ("state_topic",),
    "binary_sensor": ("state_topic",),
    "switch": ("command_topic",),
    "select": ("command_topic", "options"),
    "number": ("command_topic", "min", "max", "step"),
    "text": ("command_topic",),
}
#: protocols.md §7.3 (HA sensor/const.py DEVICE_CLASS_STATE_CLASSES, the classes we use).
ALLOWED_STATE_CLASSES = {
    "energy": {"total", "total_increasing"},
    "power": {"measurement"},
    "battery": {"measurement"},
    "monetary": {"total"},
    "energy_storage": {"measurement"},
}
PAYLOAD_NONE = "None"


class InvalidDiscovery(AssertionError):
    """HA would log this payload as invalid and set nothing up."""


def expand(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The device config with HA's abbreviations written out, checked as HA checks it."""
    config = {TOP.get(key, key): value for key, value in payload.items()}
    for required in ("device", "origin", "components"):
        if required not in config:
            raise InvalidDiscovery(f"device discovery without {required}")
    config["device"] = {DEVICE.get(k, k): v for k, v in config["device"].items()}
    config["origin"] = {ORIGIN.get(k, k): v for k, v in config["origin"].items()}
    if not config["device"].get("identifiers"):
        raise InvalidDiscovery("device without identifiers")
    if not config["origin"].get("name"):
        raise InvalidDiscovery("origin without a name")
    if "~" in config:
        raise InvalidDiscovery("extra keys not allowed @ data['~']")
    return config


class HomeAssistant:
    """The entities HA holds from one device's discovery messages, message by message."""

    def __init__(self) -> None:
        self.entities: dict[str, dict[str, Any]] = {}

    def receive(self, payload: bytes) -> None:
        if not payload:
            self.entities.clear()  # an empty config removes every component
            return
        config = expand(json.loads(payload))
        for key, raw in config["components"].items():
            component = {("platform" if k == "p" else k): v for k, v in raw.items()}
            platform = component.pop("platform")
            if not component:  # only the platform: remove it (new ones are ignored)
                self.entities.pop(key, None)
                continue
            if platform in ENTITY_PLATFORMS and "unique_id" not in component:
                raise InvalidDiscovery(f"component {key} has no unique_id")
            for option in SHARED_OPTIONS:
                if option in config and option not in component:
                    component[option] = config[option]
            missing = [k for k in REQUIRED.get(platform, ()) if k not in component]
            if missing:
                raise InvalidDiscovery(f"{platform} {key} lacks {', '.join(missing)}")
            self.entities[key] = {"platform": platform, **component}
        # A component merely left out stays as it was: HA removes nothing else.


def numeric(entity: Mapping[str, Any]) -> bool:
    """HA's MqttSensor._numeric_state_expected."""
    device_class = entity.get("device_class")
    return (
        (device_class is not None and device_class not in ("enum", "timestamp", "date"))
        or entity.get("state_class") is not None
        or entity.get("unit_of_measurement") is not None
        or entity.get("suggested_display_precision") is not None
    )


def render(template: str, message: bytes) -> str:
    return jinja2.Environment().from_string(template).render(value_json=json.loads(message))


def state_of(entity: Mapping[str, Any], message: bytes) -> Any:
    """The state HA sets from ``message`` on the entity's state topic; None is unknown.

    Raises ``AssertionError`` where HA would log an error instead of setting one.
    """
    rendered = render(entity.get("value_template", "{{ value }}"), message)
    platform = entity["platform"]
    if platform in ("binary_sensor", "switch"):
        on = entity.get("payload_on", "ON")
        off = entity.get("payload_off", "OFF")
        assert rendered in (on, off, PAYLOAD_NONE), f"{rendered!r} is no payload of {entity}"
        return None if rendered == PAYLOAD_NONE else rendered == on
    if numeric(entity):
        if rendered == PAYLOAD_NONE:
            return None
        value = float(rendered)
        assert math.isfinite(value), f"{entity['unique_id']}: {rendered!r}"
        return value
    if entity.get("device_class") == "timestamp":
        stamp = datetime.fromisoformat(rendered)
        assert stamp.tzinfo is not None, f"{rendered!r} has no time zone"
        return stamp
    if entity.get("device_class") == "enum":
        assert rendered in entity["options"], f"{rendered!r} not in {entity['options']}"
    assert len(rendered) <= 255, f"{entity['unique_id']}: a state longer than 255 characters"
    return None if rendered == "unknown" else rendered
