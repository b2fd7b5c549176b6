"""A tiny in-process MQTT connection with the protocol the loads code is written against,
and a switch on it that answers commands as a Gen1 Shelly does over MQTT (protocols §6.2).

It stands in until the real connection (nodes/mqtt) lands; the lead adds a
real-broker test then. Handlers are called in the event loop (``call_soon``),
as the real connection promises, never inside ``publish``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Handler = Callable[[str, bytes], Any]


def matches(topic_filter: str, topic: str) -> bool:
    """MQTT topic-filter matching with ``+`` and ``#``."""
    parts, levels = topic_filter.split("/"), topic.split("/")
    for i, part in enumerate(parts):
        if part == "#":
            return True
        if i >= len(levels) or (part != "+" and part != levels[i]):
            return False
    return len(parts) == len(levels)


@dataclass
class FakeMqtt:
    published: list[tuple[str, str, int, bool]] = field(default_factory=list)
    retained: dict[str, bytes] = field(default_factory=dict)
    connected: bool = True
    publish_error: Exception | None = None
    _subs: list[tuple[str, Handler, int]] = field(default_factory=list)

    async def publish(self, topic: str, payload: str, qos: int = 0, retain: bool = False) -> bool:
        """Like nodes/mqtt's MqttBroker: False when the link is down (or raise, if told to)."""
        if self.publish_error is not None:
            raise self.publish_error
        if not self.connected:
            return False
        self.published.append((topic, payload, qos, retain))
        self.deliver(topic, payload.encode(), retain)
        return True

    def subscribe(self, topic_filter: str, handler: Handler, qos: int = 0) -> Callable[[], None]:
        entry = (topic_filter, handler, qos)
        self._subs.append(entry)
        loop = asyncio.get_running_loop()
        for topic, payload in self.retained.items():
            if matches(topic_filter, topic):
                loop.call_soon(handler, topic, payload)
        return lambda: self._subs.remove(entry)

    def deliver(self, topic: str, payload: bytes, retain: bool = False) -> None:
        """A message arriving from the broker (a device publishing)."""
        if retain:
            self.retained[topic] = payload
        loop = asyncio.get_running_loop()
        for topic_filter, handler, _ in list(self._subs):
            if matches(topic_filter, topic):
                loop.call_soon(handler, topic, payload)

    def filters(self) -> list[str]:
        return [topic_filter for topic_filter, _, _ in self._subs]


class ShellyGen1OverMqtt:
    """A Gen1 relay on MQTT: command ``on``/``off``, state ``on``/``off``, power in W."""

    def __init__(self, broker: FakeMqtt, device: str = "shelly1pm-A8032AB1C2D3") -> None:
        self.broker = broker
        self.prefix = f"shellies/{device}/relay/0"
        self.on = False
        self.silent = False  # takes commands but never says its state
        self.power_w = 1834.2
        broker.subscribe(f"{self.prefix}/command", self._command, 1)

    def _command(self, topic: str, payload: bytes) -> None:
        text = payload.decode()
        self.on = (not self.on) if text == "toggle" else text == "on"
        if not self.silent:
            self.broker.deliver(self.prefix, b"on" if self.on else b"off", retain=True)
            power = f"{self.power_w if self.on else 0.0}".encode()
            self.broker.deliver(f"{self.prefix}/power", power, retain=True)
