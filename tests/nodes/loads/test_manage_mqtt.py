"""loads.manage with an MQTT load, through a connection offering the MQTT protocol."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from flowengine import Connection, Engine, VirtualClock, load_flow_text
from nodes.loads import NODE_TYPES
from tests.flowengine.helpers import registry
from tests.nodes.loads.fake_mqtt import FakeMqtt, ShellyGen1OverMqtt
from tests.nodes.loads.manager_sim import local

T0 = local("2025-06-10T11:00")
PREFIX = "shellies/shelly1pm-A8032AB1C2D3/relay/0"


class FakeMqttConnection(Connection):
    """The in-process broker as a flow connection, under the real one's type name (the node's
    ``mqtt`` option must name an ``mqtt.broker``); nodes/mqtt's own is tested on a broker."""

    type_name = "mqtt.broker"
    description = "An in-process MQTT connection for tests."
    opened: ClassVar[list[FakeMqttConnection]] = []
    client: FakeMqtt | None = None

    async def open(self) -> None:
        self.client = FakeMqtt()
        FakeMqttConnection.opened.append(self)


def flow(node_config: str) -> str:
    return f"""
flow: loads
triggers:
  - {{type: interval, every: 5m}}
nodes:
  - {{id: manage, type: loads.manage, config: {node_config}}}
connections:
  - {{id: bus, type: mqtt.broker}}
"""


SETTINGS = {
    "site": {"timezone": "Australia/Brisbane"},
    "loads": {
        "dryer": {
            "adapter": "mqtt",
            "command_topic": f"{PREFIX}/command",
            "state_topic": PREFIX,
            "power_topic": f"{PREFIX}/power",
            "payload_on": "on",
            "payload_off": "off",
            "power_w": 1500,
            "priority": "opportunistic",
        }
    },
}


@pytest.fixture
async def start(tmp_path: Path) -> AsyncIterator[Any]:
    engines: list[Engine] = []

    async def started(node_config: str) -> tuple[Engine, VirtualClock]:
        reg = registry()
        reg.add_all([*NODE_TYPES, FakeMqttConnection])
        clock = VirtualClock(T0 - 60)
        engine = Engine(reg, clock, tmp_path / "engine.db", settings=SETTINGS)
        engines.append(engine)
        await engine.start(load_flow_text(flow(node_config), reg))
        return engine, clock

    FakeMqttConnection.opened = []
    yield started
    for engine in engines:
        await engine.stop()
        engine.close()


async def test_an_mqtt_load_runs_on_the_surplus(start: Any) -> None:
    engine, clock = await start("{mqtt: bus}")
    broker = FakeMqttConnection.opened[0].client
    assert broker is not None
    device = ShellyGen1OverMqtt(broker)
    broker.deliver(PREFIX, b"off", retain=True)
    engine.context.set("global", "telemetry", {"pv_w": 3000, "load_w": 800, "timestamp": T0})

    await clock.run_until(T0)
    record = engine.context.get("global", "loads")["dryer"]

    assert device.on
    assert broker.published == [(f"{PREFIX}/command", "on", 1, False)]
    assert (record["state"], record["on"], record["power_w"], record["last_error"]) == (
        "running",
        True,
        1834.2,
        None,
    )


async def test_an_mqtt_load_without_the_nodes_mqtt_option_is_unavailable(start: Any) -> None:
    engine, clock = await start("{}")

    await clock.run_until(T0)
    record = engine.context.get("global", "loads")["dryer"]

    assert (record["state"], record["available"]) == ("unavailable", False)
    assert record["last_error"] == (
        f"load 'dryer' (MQTT {PREFIX}/command): an mqtt load needs the node's mqtt option "
        "(a connection id)"
    )
