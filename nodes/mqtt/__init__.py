"""MQTT: the shared broker connection, the ``mqtt`` trigger and the publish node."""

from nodes.mqtt.connection import MqttBroker
from nodes.mqtt.publish import MqttPublish
from nodes.mqtt.trigger import MqttTrigger

NODE_TYPES = [MqttBroker, MqttPublish, MqttTrigger]

__all__ = ["NODE_TYPES", "MqttBroker", "MqttPublish", "MqttTrigger"]
