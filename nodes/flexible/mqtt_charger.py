"""A charger (or diverter) driven over MQTT: a setpoint out, its power, plug and SOC back.

The setpoint goes to ``command_topic`` at QoS 1, never retained (a retained setpoint
would restart a rebooted charger at the last power), in watts or in whole amps per
phase (``command_unit``). ``power_topic`` carries its power in W, ``plugged_topic``
whether a car is connected (true/false, on/off, 1/0, connected/disconnected, the way
Home Assistant's binary sensors and EVSE firmwares say it), ``soc_topic`` the car's
SOC in percent (a Home Assistant entity's state, say). A charger that never said its
power, or whose availability topic says offline, is unavailable.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from nodes.flexible.device import ChargerReading, ChargerUnavailable, amps_for, watts_for
from nodes.flexible.settings import FlexConfig
from nodes.loads.mqtt_switch import MqttClient

COMMAND_QOS = 1
PLUGGED = {"true", "on", "1", "yes", "connected", "plugged", "plugged_in", "charging"}
UNPLUGGED = {"false", "off", "0", "no", "disconnected", "unplugged", "not_connected"}


class MqttCharger:
    def __init__(self, config: FlexConfig, client: MqttClient) -> None:
        self.config = config
        self.client = client
        self.power_w: float | None = None
        self.plugged: bool | None = None
        self.soc: float | None = None
        self.online: bool | None = None
        #: topic -> what was wrong with its last payload (cleared by a good one)
        self.problems: dict[str, str] = {}
        self._unsubscribe: list[Callable[[], None]] = []

    @property
    def where(self) -> str:
        return f"MQTT {self.config.get('command_topic')}"

    def open(self) -> None:
        """Subscribe to the topics the load names."""
        handlers = {
            "power_topic": self._on_power,
            "plugged_topic": self._on_plugged,
            "soc_topic": self._on_soc,
            "availability_topic": self._on_availability,
        }
        for key, handler in handlers.items():
            topic = self.config.get(key)
            if topic:
                self._unsubscribe.append(self.client.subscribe(str(topic), handler, 1))

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()

    async def read(self) -> ChargerReading:
        if self.online is False:
            raise ChargerUnavailable(
                self.config.id, self.where, "its availability topic says offline"
            )
        if self.problems:
            raise ChargerUnavailable(self.config.id, self.where, "; ".join(self.problems.values()))
        if self.config.get("power_topic") and self.power_w is None:
            raise ChargerUnavailable(self.config.id, self.where, "no power reading yet")
        return ChargerReading(self.power_w, self.plugged, self.soc)

    async def set_power(self, watts: float) -> float:
        config = self.config
        if config.get("command_unit") == "A":
            amps = amps_for(config, watts)
            payload, asked = str(amps), watts_for(config, amps)
        else:
            asked = max(0.0, math.floor(watts))
            payload = str(int(asked))
        try:
            sent = await self.client.publish(
                str(config.get("command_topic")), payload, qos=COMMAND_QOS, retain=False
            )
        except (OSError, RuntimeError) as exc:
            raise ChargerUnavailable(config.id, self.where, f"could not publish: {exc}") from exc
        if sent is False:
            raise ChargerUnavailable(config.id, self.where, "the broker is not connected")
        return asked

    def _on_power(self, topic: str, payload: bytes) -> None:
        value = _number(payload)
        if value is None or value < 0:
            self.problems[topic] = f"power {payload[:40]!r} on {topic} is not a number of watts"
            return
        self.power_w = value
        self.problems.pop(topic, None)

    def _on_plugged(self, topic: str, payload: bytes) -> None:
        text = payload.decode("utf-8", "replace").strip().lower()
        if text in PLUGGED:
            self.plugged = True
        elif text in UNPLUGGED:
            self.plugged = False
        else:
            self.problems[topic] = (
                f"plugged state {payload[:40]!r} on {topic} is neither on nor off"
            )
            return
        self.problems.pop(topic, None)

    def _on_soc(self, topic: str, payload: bytes) -> None:
        value = _number(payload)
        if value is None or not 0 <= value <= 100:
            self.problems[topic] = f"SOC {payload[:40]!r} on {topic} is not a percentage"
            return
        self.soc = value / 100.0
        self.problems.pop(topic, None)

    def _on_availability(self, topic: str, payload: bytes) -> None:
        text = payload.decode("utf-8", "replace").strip()
        self.online = text != "offline"


def _number(payload: bytes) -> float | None:
    try:
        value = float(payload.decode("utf-8", "replace").strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None
