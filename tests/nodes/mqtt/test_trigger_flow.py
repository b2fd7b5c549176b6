"""A flow started by an MQTT message, and a flow that publishes, through a real broker."""

from __future__ import annotations

import asyncio
from typing import Any

from flowengine import Engine, VirtualClock, default_registry, load_flow_text
from nodes.mqtt import MqttBroker
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt_probe import MqttProbe

FLOW = """
connections:
  - id: mqtt
    type: mqtt.broker
flow: from_mqtt
mode: queued
triggers:
  - type: mqtt
    connection: mqtt
    topic: home/+/button/#
nodes:
  - id: remember
    type: core.context_set
    config: {key: global.pressed}
    wires: [echo]
  - id: echo
    type: mqtt.publish
    config: {connection: mqtt, topic: "{prefix}/echo", qos: 1}
"""


async def test_a_message_on_a_topic_filter_starts_a_run_with_topic_and_payload(
    mosquitto: Mosquitto,
) -> None:
    registry = default_registry()
    settings: dict[str, Any] = {"mqtt": {"host": mosquitto.host, "port": mosquitto.port}}
    engine = Engine(registry, VirtualClock(), settings=settings)
    pressed: asyncio.Queue[Any] = asyncio.Queue()
    engine.context.listen(lambda s, k, new, old: pressed.put_nowait(new), "global", "pressed")
    probe = await MqttProbe(mosquitto.host, mosquitto.port, "power_master/#").ready()
    await engine.start(load_flow_text(FLOW, registry))
    try:
        broker = engine.connections["mqtt"]
        assert isinstance(broker, MqttBroker)
        assert (await probe.next_on("power_master/status"))[0] == "online"
        for _ in range(100):  # until the trigger's subscription is in place
            probe.publish("home/hall/button/1", '{"clicks": 2}')
            try:
                first = await asyncio.wait_for(pressed.get(), 0.1)
                break
            except TimeoutError:
                continue
        else:
            raise AssertionError("the mqtt trigger never fired")
        assert first == {"clicks": 2}
        assert await probe.next_on("power_master/echo") == ('{"clicks":2}', False)
        probe.publish("home/hall/light", "on")  # not on the filter: no run
        probe.publish("home/kitchen/button", "long")
        assert await asyncio.wait_for(pressed.get(), 5) == "long"
        trace = engine.traces.recent("from_mqtt")[0]
        assert trace["trigger"] == "mqtt home/+/button/#"
        assert broker.connected
    finally:
        probe.close()
        await engine.stop()
        engine.close()
