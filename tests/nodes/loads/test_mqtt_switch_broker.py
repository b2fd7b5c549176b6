"""An MQTT load through a real, private Mosquitto broker: the device is a plain
MQTT client that answers its command topic the way a Shelly Gen1 does."""

from __future__ import annotations

import asyncio

from flowengine.clock import VirtualClock
from nodes.loads.device import LoadReading
from nodes.loads.mqtt_switch import MqttSwitch
from nodes.mqtt.connection import MqttBroker
from tests.nodes.loads.conftest import load
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt_probe import MqttProbe

PREFIX = "shellies/shelly1pm-pool/relay/0"


async def test_a_relay_switched_over_a_real_broker_reports_its_state(
    mosquitto: Mosquitto,
) -> None:
    broker = MqttBroker(
        "mqtt", {}, VirtualClock(), {"mqtt": {"host": mosquitto.host, "port": mosquitto.port}}
    )
    up = asyncio.Event()
    broker.on_connect(up.set)
    await broker.open()
    device = await MqttProbe(
        mosquitto.host, mosquitto.port, f"{PREFIX}/command", client_id="shelly1pm-pool"
    ).ready()
    device.publish(PREFIX, "off", retain=True)  # what the relay says when it boots
    device.publish(f"{PREFIX}/power", "0", retain=True)
    try:
        await asyncio.wait_for(up.wait(), 10)
        switch = MqttSwitch(
            load(
                adapter="mqtt",
                command_topic=f"{PREFIX}/command",
                state_topic=PREFIX,
                power_topic=f"{PREFIX}/power",
                payload_on="on",
                payload_off="off",
            ),
            broker,
        )
        switch.open()

        async def relay() -> None:  # the device: obey the command, report state and power
            payload, retained = await device.next_on(f"{PREFIX}/command")
            assert not retained
            device.publish(f"{PREFIX}/power", "1834.2" if payload == "on" else "0")
            device.publish(PREFIX, payload, retain=True)

        answering = asyncio.create_task(relay())
        reading = await switch.set(True)
        await answering
        assert reading.on is True
        assert (await switch.read()) == LoadReading(True, 1834.2)
    finally:
        device.close()
        await broker.close()
