"""The MQTT charger's reading of what its topics say, and what a bad payload does.

The wire (a private Mosquitto, the service end to end) is tested in
tests/powermaster/test_flexible_mqtt.py; here the handlers get payloads as the broker
would hand them over."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from nodes.flexible.device import ChargerUnavailable
from nodes.flexible.mqtt_charger import MqttCharger
from tests.nodes.flexible.conftest import flex


class Broker:
    """Takes subscriptions and publishes, as nodes/mqtt's client does."""

    def __init__(self) -> None:
        self.handlers: dict[str, Callable[[str, bytes], Any]] = {}
        self.sent: list[tuple[str, str, int, bool]] = []

    async def publish(self, topic: str, payload: str, qos: int = 0, retain: bool = False) -> bool:
        self.sent.append((topic, payload, qos, retain))
        return True

    def subscribe(
        self, topic_filter: str, handler: Callable[[str, bytes], Any], qos: int = 0
    ) -> Callable[[], None]:
        self.handlers[topic_filter] = handler
        return lambda: None

    def say(self, topic: str, payload: str) -> None:
        self.handlers[topic](topic, payload.encode())


def charger(**raw: Any) -> tuple[MqttCharger, Broker]:
    topics = dict(
        command_topic="evse/set",
        power_topic="evse/power",
        plugged_topic="evse/plugged",
        soc_topic="car/soc",
    )
    config = flex(adapter="mqtt", battery_kwh=60, **{**topics, **raw})
    broker = Broker()
    made = MqttCharger(config, broker)
    made.open()
    return made, broker


async def test_it_reads_power_plug_and_soc_in_percent() -> None:
    made, broker = charger()
    broker.say("evse/power", "3680")
    broker.say("evse/plugged", "connected")
    broker.say("car/soc", "64")
    reading = await made.read()
    assert (reading.power_w, reading.plugged, reading.soc) == (3680.0, True, 0.64)


async def test_a_bad_payload_makes_it_unavailable_until_that_topic_speaks_sense() -> None:
    made, broker = charger()
    broker.say("evse/power", "0")
    broker.say("evse/power", "lots")
    with pytest.raises(ChargerUnavailable, match=r"power b'lots' on evse/power"):
        await made.read()
    broker.say("evse/plugged", "maybe")
    with pytest.raises(ChargerUnavailable, match="neither on nor off"):
        await made.read()
    broker.say("evse/power", "1200")
    broker.say("evse/plugged", "off")
    reading = await made.read()
    assert reading.power_w == 1200 and reading.plugged is False


async def test_a_soc_over_100_is_refused() -> None:
    made, broker = charger()
    broker.say("evse/power", "0")
    broker.say("car/soc", "180")
    with pytest.raises(ChargerUnavailable, match="not a percentage"):
        await made.read()


async def test_the_setpoint_goes_out_in_watts_or_whole_amps_never_retained() -> None:
    made, broker = charger()
    assert await made.set_power(3999.7) == 3999
    watts, amps = charger(command_unit="A", phases=3, voltage=230)
    assert await watts.set_power(7000) == 10 * 3 * 230
    assert broker.sent == [("evse/set", "3999", 1, False)]
    assert amps.sent == [("evse/set", "10", 1, False)]
