"""MQTT: the shared broker connection, the ``mqtt`` trigger and the publish node."""

from flowengine.registry import Declared
from flowengine.settings import SiteSection
from nodes.mqtt.connection import DEFAULTS, SETTINGS_SCHEMA, MqttBroker
from nodes.mqtt.publish import MqttPublish
from nodes.mqtt.trigger import MqttTrigger

NODE_TYPES: list[Declared] = [
    MqttBroker,
    MqttPublish,
    MqttTrigger,
    SiteSection("mqtt", SETTINGS_SCHEMA, dict(DEFAULTS), owner=__name__),
]

__all__ = ["NODE_TYPES", "MqttBroker", "MqttPublish", "MqttTrigger"]
