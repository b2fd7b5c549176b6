"""``mqtt.publish``: send the message's payload to a topic (Node-RED's mqtt-out)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from flowengine.message import Message
from flowengine.node import Node
from nodes.mqtt.connection import MqttBroker
from nodes.mqtt.topics import topic_problem


class MqttPublish(Node):
    type_name = "mqtt.publish"
    description = "Publishes the payload (data as JSON) to an MQTT topic."
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "connection": {"type": "string", "x-connection": "mqtt.broker"},
            "topic": {
                "type": "string",
                "description": "the topic; '{prefix}' stands for the broker's prefix; "
                "empty: the message's own topic",
            },
            "qos": {"default": 0, "enum": [0, 1, 2]},
            "retain": {"type": "boolean"},
        },
        "required": ["connection"],
        "additionalProperties": False,
    }
    takes = "a payload: data (sent as JSON), text or a number"

    @classmethod
    def check_config(cls, config: Mapping[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
        problem = topic_problem(config["topic"]) if config.get("topic") else None
        return [(("topic",), problem)] if problem else []

    gives: ClassVar[dict[str, str]] = {"out": "the message, unchanged (meta.published: bool)"}

    async def process(self, msg: Message) -> Message:
        broker = self.ctx.connection(self.config["connection"])
        if not isinstance(broker, MqttBroker):
            raise TypeError(f"connection {self.config['connection']!r} is not an mqtt.broker")
        topic = (self.config.get("topic") or msg.topic).replace("{prefix}", broker.prefix)
        if not topic:
            raise ValueError("no topic: set 'topic' in the config or send a message with one")
        sent = await broker.publish(
            topic, msg.payload, int(self.config["qos"]), bool(self.config.get("retain"))
        )
        msg.meta["published"] = sent
        self.ctx.status(f"{topic}" if sent else f"{topic}: not connected", "ok" if sent else "warn")
        return msg
