"""What someone else on the broker may send, over a real, private Mosquitto: a flood of
Home Assistant births costs two discovery rounds, not one per birth (one at once, one
when the quiet gap ends, on virtual time); a command published retained acts on its
live delivery, and its replay when the bridge subscribes again is refused."""

from __future__ import annotations

import asyncio
import json
import logging

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from flowengine.clock import VirtualClock
from nodes.homeassistant.bridge import ANSWER_GAP_S
from powermaster.service import Service
from tests.powermaster.test_home_assistant import DISCOVERY, site
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt_probe import MqttProbe

__all__ = ["site"]  # the whole service against the broker, as the other HA tests use it

BIRTHS = 3000
MODE_STATE = "power_master/override/mode/state"
MODE_SET = "power_master/override/mode/set"


async def after_births(home: MqttProbe, mode: str) -> int:
    """Send a mode command and wait for the bridge to echo it: every birth sent before has
    reached the bridge by then. Returns how many discovery messages came meanwhile."""
    rounds = 0
    for _ in range(5):  # a full broker queue may have dropped the command: send it again
        home.publish(MODE_SET, mode)
        try:
            while True:
                topic, payload, _ = await asyncio.wait_for(home.messages.get(), 10)
                rounds += topic == DISCOVERY
                if topic == MODE_STATE and payload == mode:
                    return rounds
        except TimeoutError:
            continue
    raise AssertionError(f"the bridge never echoed {mode}")


async def test_a_flood_of_births_is_answered_twice(site: Service, mosquitto: Mosquitto) -> None:
    clock = site.clock
    assert isinstance(clock, VirtualClock)
    home = await MqttProbe(
        mosquitto.host, mosquitto.port, DISCOVERY, MODE_STATE, client_id="ha-flood"
    ).ready()
    try:
        await home.next_on(DISCOVERY)  # the retained one from the start
        await after_births(home, "hold")
        sent = [home.client.publish("homeassistant/status", "online", qos=1) for _ in range(BIRTHS)]
        await asyncio.to_thread(sent[-1].wait_for_publish, 30)
        assert await after_births(home, "auto") == 1  # the first birth, answered at once
        await clock.advance(ANSWER_GAP_S)
        await site.engine.settle()
        payload, retained = await home.next_on(DISCOVERY)  # the rest, answered once
        assert json.loads(payload)["cmps"] and not retained
        await clock.advance(4 * ANSWER_GAP_S)
        await site.engine.settle()
        assert await after_births(home, "hold") == 0  # and nothing after that
        home.publish("homeassistant/status", "online")  # a birth after the quiet: at once
        assert await after_births(home, "auto") == 1
    finally:
        home.close()


class Refusals(logging.Handler):
    """Sets ``seen`` when the bridge logs a refused retained command."""

    def __init__(self) -> None:
        super().__init__()
        self.seen = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if "retained command is ignored" in record.getMessage():
            self.seen.set()


async def test_a_retained_command_acts_live_and_its_replay_is_refused(
    site: Service, mosquitto: Mosquitto
) -> None:
    home = await MqttProbe(
        mosquitto.host, mosquitto.port, MODE_STATE, client_id="ha-retained"
    ).ready()
    refusals = Refusals()
    logging.getLogger("power_master.homeassistant").addHandler(refusals)
    try:
        await after_births(home, "auto")  # the bridge is subscribed
        # The broker clears the retain flag on a live delivery: this one acts...
        home.publish(MODE_SET, "force_charge", retain=True)
        while (await home.next_on(MODE_STATE))[0] != "force_charge":
            pass
        assert site.override() is not None
        site.clear_override()
        # ...and stays on the broker, which replays it (retain flag set) when the bridge
        # subscribes again: here after a client with its id took its connection over.
        usurper = paho.Client(CallbackAPIVersion.VERSION2, client_id="power-master-mqtt")
        usurper.connect(mosquitto.host, mosquitto.port)
        usurper.disconnect()
        await asyncio.wait_for(refusals.seen.wait(), 30)  # paho reconnects after ~1 s
        await site.engine.settle()
        assert site.override() is None
    finally:
        logging.getLogger("power_master.homeassistant").removeHandler(refusals)
        home.close()
