"""The ``mqtt`` trigger: a message on a topic filter starts a run.

The run's message has the MQTT topic as ``msg.topic`` and the payload decoded
(JSON as data, anything else as text), as in Node-RED's mqtt-in node.
"""

from __future__ import annotations

from typing import Any, ClassVar

from flowengine.triggers import Trigger
from nodes.mqtt.connection import MqttBroker, decode
from nodes.mqtt.topics import filter_problem


class MqttTrigger(Trigger):
    type_name = "mqtt"
    description = "on a message on an MQTT topic filter (+ and # wildcards)"
    options: ClassVar[dict[str, Any]] = {
        "properties": {
            "connection": {
                "type": "string",
                "x-connection": "mqtt.broker",
                "description": "the mqtt.broker connection's id",
            },
            "topic": {"type": "string", "minLength": 1, "description": "a topic filter"},
            "qos": {"enum": [0, 1, 2]},
        },
        "required": ["connection", "topic"],
    }
    _unsubscribe: Any = None

    @classmethod
    def check_options(cls, options: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
        problem = filter_problem(str(options.get("topic", "")))
        return [(("topic",), problem)] if problem else []

    @property
    def label(self) -> str:
        return f"mqtt {self.spec.options['topic']}"

    async def start(self) -> None:
        name = self.spec.options["connection"]
        broker = self.flow.engine.connections.get(name)
        if not isinstance(broker, MqttBroker):
            raise ValueError(f"mqtt trigger: connection {name!r} is not an mqtt.broker")

        def received(topic: str, payload: bytes) -> None:
            self.fire(decode(payload), topic=topic)

        self._unsubscribe = broker.subscribe(
            self.spec.options["topic"], received, int(self.spec.options.get("qos", 0))
        )

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
