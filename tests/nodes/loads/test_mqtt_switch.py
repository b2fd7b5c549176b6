"""An MQTT load against the in-test connection and a Gen1 Shelly speaking MQTT (§6.2)."""

from __future__ import annotations

import asyncio

import pytest

from nodes.loads.device import LoadReading, LoadUnavailable
from nodes.loads.mqtt_switch import MqttSwitch
from tests.nodes.loads.conftest import load
from tests.nodes.loads.fake_mqtt import FakeMqtt, ShellyGen1OverMqtt

PREFIX = "shellies/shelly1pm-A8032AB1C2D3/relay/0"


def mqtt_load(broker: FakeMqtt, **raw: object) -> MqttSwitch:
    topics = {
        "command_topic": f"{PREFIX}/command",
        "state_topic": PREFIX,
        "power_topic": f"{PREFIX}/power",
        "payload_on": "on",
        "payload_off": "off",
    }
    switch = MqttSwitch(load(adapter="mqtt", **{**topics, **raw}), broker)
    switch.open()
    return switch


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_turn_on_publishes_the_command_and_reports_what_the_device_says() -> None:
    broker = FakeMqtt()
    device = ShellyGen1OverMqtt(broker)
    switch = mqtt_load(broker)

    assert await switch.set(True) == LoadReading(True, 1834.2)
    assert device.on
    assert broker.published == [(f"{PREFIX}/command", "on", 1, False)]  # QoS 1, never retained

    assert await switch.set(False) == LoadReading(False, 0.0)
    assert broker.published[-1] == (f"{PREFIX}/command", "off", 1, False)


async def test_no_state_seen_yet_is_unavailable_and_a_retained_one_is_kept() -> None:
    broker = FakeMqtt()
    switch = mqtt_load(broker)

    with pytest.raises(
        LoadUnavailable,
        match=rf"load 'pool' \(MQTT {PREFIX}/command\): no state "
        rf"on {PREFIX} yet",
    ):
        await switch.read()

    broker.retained[PREFIX] = b"on"
    late = mqtt_load(broker)  # subscribes after the device published (retained)
    await settle()
    assert await late.read() == LoadReading(True, None)


async def test_a_device_that_does_not_confirm_leaves_the_last_state_seen() -> None:
    broker = FakeMqtt()
    device = ShellyGen1OverMqtt(broker)
    switch = mqtt_load(broker, timeout_s=0.05)
    await switch.set(False)
    device.silent = True

    assert await switch.set(True) == LoadReading(False, 0.0)  # what it last said, not what we hoped
    assert device.on  # it did switch; the next read after it speaks will say so


async def test_availability_offline_makes_it_unavailable_until_online() -> None:
    broker = FakeMqtt()
    switch = mqtt_load(
        broker,
        availability_topic="shellies/shelly1pm-A8032AB1C2D3/online",
        payload_available="true",
        payload_not_available="false",
    )
    broker.deliver(PREFIX, b"off")
    broker.deliver("shellies/shelly1pm-A8032AB1C2D3/online", b"false")
    await settle()

    with pytest.raises(LoadUnavailable, match="offline"):
        await switch.read()
    broker.deliver("shellies/shelly1pm-A8032AB1C2D3/online", b"true")
    await settle()
    assert await switch.read() == LoadReading(False, None)


async def test_payloads_it_cannot_read_are_ignored_and_said() -> None:
    broker = FakeMqtt()
    switch = mqtt_load(broker)
    broker.deliver(PREFIX, b"maybe")
    broker.deliver(f"{PREFIX}/power", b"lots")
    await settle()

    with pytest.raises(LoadUnavailable, match=r"said b'lots', not a power in W"):
        await switch.read()
    broker.deliver(PREFIX, b"ON")  # case does not matter
    await settle()
    assert await switch.read() == LoadReading(True, None)


async def test_a_lost_broker_connection_makes_the_command_fail_clearly() -> None:
    broker = FakeMqtt(connected=False)
    switch = mqtt_load(broker)

    with pytest.raises(
        LoadUnavailable,
        match=rf"could not publish to {PREFIX}/command: MQTT is off or the broker is not connected",
    ):
        await switch.set(True)
    broker.publish_error = ConnectionError("socket closed")
    with pytest.raises(LoadUnavailable, match=rf"could not publish to {PREFIX}/command: socket"):
        await switch.set(True)


async def test_close_unsubscribes_everything() -> None:
    broker = FakeMqtt()
    switch = mqtt_load(broker)
    assert sorted(broker.filters()) == [PREFIX, f"{PREFIX}/power"]

    await switch.close()
    assert broker.filters() == []
    assert switch.safety_timer is False
