"""The shared MQTT connection against a real, private Mosquitto broker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from flowengine.clock import VirtualClock
from nodes.mqtt.connection import MqttBroker, decode, encode
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt_probe import MqttProbe


def settings_for(broker: Mosquitto, **extra: Any) -> dict[str, Any]:
    return {"mqtt": {"host": broker.host, "port": broker.port, "reconnect_max_s": 1, **extra}}


@pytest.fixture
async def probe(mosquitto: Mosquitto) -> AsyncIterator[MqttProbe]:
    watcher = await MqttProbe(mosquitto.host, mosquitto.port, "power_master/#", "test/#").ready()
    yield watcher
    watcher.close()


async def connected(broker: MqttBroker) -> MqttBroker:
    up = asyncio.Event()
    broker.on_connect(up.set)
    await broker.open()
    await asyncio.wait_for(up.wait(), 10)
    return broker


async def test_online_on_connect_offline_on_a_clean_close(
    mosquitto: Mosquitto, probe: MqttProbe
) -> None:
    broker = await connected(MqttBroker("mqtt", {}, VirtualClock(), settings_for(mosquitto)))
    assert await probe.next_on("power_master/status") == ("online", False)
    await broker.close()
    assert await probe.next_on("power_master/status") == ("offline", False)
    late = MqttProbe(mosquitto.host, mosquitto.port, "power_master/status", client_id="late")
    await late.ready()
    try:
        assert await late.next_on("power_master/status") == ("offline", True)  # retained
    finally:
        late.close()


async def test_the_last_will_says_offline_when_the_link_breaks(
    mosquitto: Mosquitto, probe: MqttProbe
) -> None:
    broker = await connected(MqttBroker("mqtt", {}, VirtualClock(), settings_for(mosquitto)))
    try:
        assert (await probe.next_on("power_master/status"))[0] == "online"
        assert broker._client is not None
        sock = broker._client.socket()
        assert sock is not None
        sock.close()  # the link dies without a DISCONNECT: the broker sends the will
        assert (await probe.next_on("power_master/status"))[0] == "offline"
        assert (await probe.next_on("power_master/status"))[0] == "online"  # reconnected
    finally:
        await broker.close()


async def test_publish_and_subscribe_with_wildcards(mosquitto: Mosquitto, probe: MqttProbe) -> None:
    broker = await connected(MqttBroker("mqtt", {}, VirtualClock(), settings_for(mosquitto)))
    got: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    broker.subscribe("test/+/cmd/#", lambda t, p: got.put_nowait((t, decode(p))), qos=1)
    try:
        await _until_subscribed(broker, probe, "test/a/cmd/x", got)
        probe.publish("test/b/cmd", '{"on": true}')
        probe.publish("test/c/other", "ignored")
        probe.publish("test/d/cmd/deep/er", "21.5")
        assert await asyncio.wait_for(got.get(), 5) == ("test/b/cmd", {"on": True})
        assert await asyncio.wait_for(got.get(), 5) == ("test/d/cmd/deep/er", 21.5)
        assert await broker.publish("test/out", {"soc": 0.5}, qos=1)
        assert await probe.next_on("test/out") == ('{"soc":0.5}', False)
    finally:
        await broker.close()


async def test_a_broker_restart_resubscribes_and_reannounces(
    mosquitto: Mosquitto, probe: MqttProbe
) -> None:
    broker = MqttBroker("mqtt", {}, VirtualClock(), settings_for(mosquitto))
    connects: asyncio.Queue[int] = asyncio.Queue()
    broker.on_connect(lambda: connects.put_nowait(broker.connects))
    got: asyncio.Queue[str] = asyncio.Queue()
    broker.subscribe("test/cmd", lambda t, p: got.put_nowait(p.decode()))
    await broker.open()
    try:
        assert await asyncio.wait_for(connects.get(), 10) == 1
        await _until_subscribed(broker, probe, "test/cmd", got)
        probe.close()
        mosquitto.restart()  # retained messages and subscriptions are gone
        assert await asyncio.wait_for(connects.get(), 20) == 2  # reconnected by itself
        again = await MqttProbe(
            mosquitto.host, mosquitto.port, "power_master/status", client_id="after"
        ).ready()
        try:
            # Live or retained, depending on who was first after the restart.
            assert (await again.next_on("power_master/status"))[0] == "online"
            await _until_subscribed(broker, again, "test/cmd", got)  # subscribed again
        finally:
            again.close()
    finally:
        await broker.close()


async def test_no_host_means_mqtt_is_off_and_publishing_is_a_no_op() -> None:
    broker = MqttBroker("mqtt", {}, VirtualClock(), {})
    await broker.open()
    assert not broker.enabled and not broker.connected
    assert await broker.publish("x", 1) is False
    await broker.close()


def test_payload_encoding() -> None:
    assert encode({"a": 1}) == b'{"a":1}' and encode("on") == b"on" and encode(None) == b""
    assert decode(b"on") == "on" and decode(b"3") == 3 and decode(b'{"x": [1]}') == {"x": [1]}
    with pytest.raises(ValueError):
        encode(float("nan"))


async def _until_subscribed(
    broker: MqttBroker, probe: MqttProbe, topic: str, got: asyncio.Queue[Any]
) -> None:
    """Publish on ``topic`` until the broker's handler sees it (SUBACK has no callback
    here), then drain what arrived."""
    for _ in range(100):
        probe.publish(topic, "ping")
        try:
            await asyncio.wait_for(got.get(), 0.1)
        except TimeoutError:
            continue
        while not got.empty():
            got.get_nowait()
        return
    raise AssertionError(f"never subscribed to {topic}")
