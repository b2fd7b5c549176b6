"""A plain paho client on the test's side of the broker: it watches topics and publishes,
the way Home Assistant or a user's script would."""

from __future__ import annotations

import asyncio
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion


class MqttProbe:
    """Subscribes to ``filters`` and queues every message (topic, payload text, retained)."""

    def __init__(self, host: str, port: int, *filters: str, client_id: str = "probe") -> None:
        self.loop = asyncio.get_running_loop()
        self.messages: asyncio.Queue[tuple[str, str, bool]] = asyncio.Queue()
        self.connected = asyncio.Event()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        self.filters = filters or ("#",)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.connect(host, port)
        self.client.loop_start()

    def _on_connect(self, client: paho.Client, *args: Any) -> None:
        for topic_filter in self.filters:
            client.subscribe(topic_filter, 1)
        # The subscription is in place once SUBACK is back; this is close enough for
        # tests that then wait on messages with a timeout.
        self.loop.call_soon_threadsafe(self.connected.set)

    def _on_message(self, client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        item = (msg.topic, msg.payload.decode(), bool(msg.retain))
        self.loop.call_soon_threadsafe(self.messages.put_nowait, item)

    async def ready(self) -> MqttProbe:
        await asyncio.wait_for(self.connected.wait(), 10)
        return self

    async def next_on(self, topic: str, timeout: float = 10.0) -> tuple[str, bool]:
        """The next message on ``topic`` (others are skipped): (payload, retained)."""

        async def wait() -> tuple[str, bool]:
            while True:
                got, payload, retained = await self.messages.get()
                if got == topic:
                    return payload, retained

        return await asyncio.wait_for(wait(), timeout)

    def drain(self) -> None:
        """Forget what arrived so far: the next ``next_on`` waits for something new."""
        while not self.messages.empty():
            self.messages.get_nowait()

    def publish(self, topic: str, payload: str, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
