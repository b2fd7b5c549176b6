"""What every flexible-load adapter promises, checked on each, built by the ChargerFactory.

read gives a ChargerReading; set_power(0) stops the device and says 0; set_power(max_w)
says at most max_w; a device that is not there is a ChargerUnavailable naming the load.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from nodes.flexible.adapters import ChargerFactory, PlanOnly
from nodes.flexible.device import ChargerAdapter, ChargerReading, ChargerUnavailable
from nodes.flexible.evcc import Evcc
from nodes.flexible.mqtt_charger import MqttCharger
from nodes.flexible.openevse import CLAIM_CLIENT, OpenEvse
from nodes.flexible.settings import ADAPTERS
from nodes.flexible.shelly_diverter import ShellyDiverter
from tests.nodes.flexible.conftest import flex
from tests.nodes.flexible.fake_evcc import FakeEvcc
from tests.nodes.flexible.fake_openevse import FakeOpenEvse
from tests.nodes.loads.conftest import unused_port
from tests.nodes.loads.fake_mqtt import FakeMqtt
from tests.nodes.loads.fake_shelly import FakeShellyGen1, FakeShellyGen2

MAX_W = 7360.0
KINDS = {
    "openevse": OpenEvse,
    "evcc": Evcc,
    "shelly_gen1": ShellyDiverter,
    "shelly_gen2": ShellyDiverter,
    "mqtt": MqttCharger,
    "none": PlanOnly,
}


@dataclass
class Rig:
    """An adapter on a live fake device, and the same kind of adapter on no device."""

    adapter: ChargerAdapter
    stopped: Callable[[], bool]
    offline: ChargerAdapter | None  # None: there is no device to lose


def settings(adapter: str, host: str, port: int) -> dict[str, Any]:
    if adapter == "evcc":
        return {"adapter": adapter, "url": f"http://{host}:{port}"}
    if adapter == "mqtt":
        return {"adapter": adapter, "command_topic": "evse/set", "power_topic": "evse/power"}
    if adapter == "none":
        return {"adapter": adapter}
    return {"adapter": adapter, "host": host, "port": port}


def make(factory: ChargerFactory, adapter: str, host: str, port: int) -> ChargerAdapter:
    return factory.make(flex("car", max_w=MAX_W, timeout_s=2, **settings(adapter, host, port)))


@pytest.fixture(params=list(KINDS))
async def rig(request: pytest.FixtureRequest, session: aiohttp.ClientSession) -> AsyncIterator[Rig]:
    adapter: str = request.param
    broker = FakeMqtt()
    factory = ChargerFactory(lambda: session, lambda: broker)
    gone = ChargerFactory(lambda: session, lambda: FakeMqtt(connected=False))
    nowhere = unused_port()
    server: FakeOpenEvse | FakeEvcc | FakeShellyGen1 | FakeShellyGen2 | None = None

    def stopped() -> bool:
        if isinstance(server, FakeOpenEvse):
            return bool(server.claims[CLAIM_CLIENT].properties["state"] == "disabled")
        if isinstance(server, FakeEvcc):
            return bool(server.loadpoints[0]["mode"] == "off")
        if isinstance(server, FakeShellyGen1 | FakeShellyGen2):
            return not server.relays[0].on
        if adapter == "mqtt":
            return broker.published[-1][1] == "0"
        return True

    if adapter == "openevse":
        server = FakeOpenEvse(unused_port())
    elif adapter == "evcc":
        server = FakeEvcc(unused_port())
    elif adapter == "shelly_gen1":
        server = FakeShellyGen1(unused_port())
    elif adapter == "shelly_gen2":
        server = FakeShellyGen2(unused_port())
    elif adapter == "mqtt":
        broker.retained["evse/power"] = b"0"
    if server is not None:
        await server.start()
    built = make(factory, adapter, "127.0.0.1", 80 if server is None else server.port)
    await asyncio.sleep(0)  # a loop turn: a subscription's retained messages arrive
    offline = None if adapter == "none" else make(gone, adapter, "127.0.0.1", nowhere)
    yield Rig(built, stopped, offline)
    built.close()
    if offline is not None:
        offline.close()
    if server is not None:
        await server.stop()


def test_every_adapter_in_the_settings_is_covered() -> None:
    assert set(KINDS) == set(ADAPTERS)


async def test_the_factory_builds_the_adapter_named(
    rig: Rig, request: pytest.FixtureRequest
) -> None:
    kind = request.node.callspec.params["rig"]
    assert isinstance(rig.adapter, KINDS[kind])
    assert rig.adapter.config.id == "car" and rig.adapter.where


async def test_read_gives_a_reading(rig: Rig) -> None:
    assert isinstance(await rig.adapter.read(), ChargerReading)


async def test_zero_stops_and_says_zero(rig: Rig) -> None:
    await rig.adapter.set_power(MAX_W)

    assert await rig.adapter.set_power(0) == 0.0
    assert rig.stopped()


async def test_max_asks_for_at_most_max(rig: Rig) -> None:
    asked = await rig.adapter.set_power(MAX_W)

    assert 0 < asked <= MAX_W
    assert not rig.stopped() or isinstance(rig.adapter, PlanOnly)


async def test_a_device_that_is_not_there_names_the_load(rig: Rig) -> None:
    if rig.offline is None:
        pytest.skip("planned only: there is no device to lose")
    with pytest.raises(ChargerUnavailable) as caught:
        await rig.offline.set_power(MAX_W)
    assert caught.value.load == "car" and "flexible load 'car'" in str(caught.value)
    with pytest.raises(ChargerUnavailable) as caught:
        await rig.offline.read()
    assert caught.value.load == "car"


def test_an_unknown_adapter_is_refused() -> None:
    factory = ChargerFactory(_never, _never)
    config = flex("car", adapter="none")
    object.__setattr__(config, "adapter", "zappi")

    with pytest.raises(ValueError, match=r"flexible load 'car': unknown adapter 'zappi'"):
        factory.make(config)


def test_http_and_mqtt_are_asked_for_only_when_needed() -> None:
    factory = ChargerFactory(_never, _never)

    assert isinstance(factory.make(flex("car", adapter="none")), PlanOnly)


def _never() -> Any:
    raise AssertionError("not needed for this load")
