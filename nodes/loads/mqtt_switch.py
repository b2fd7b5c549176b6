"""A load switched over MQTT: commands out on one topic, its state (and power) back on others.

It is written against a small connection protocol (``MqttClient``): publish a
text payload, subscribe a topic filter with a handler that gets the topic and
the raw payload in the event loop. The last state and power seen are kept; a
load whose device never said its state, or whose availability topic says it
is offline, is unavailable. Commands go out at QoS 1, never retained (a
retained "on" would switch a rebooted device on). MQTT has no device-side
auto-off, so an MQTT load has no safety timer: prefer a Shelly where that matters.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Any, Protocol

from nodes.loads.device import LoadReading, LoadUnavailable
from nodes.loads.settings import LoadConfig

COMMAND_QOS = 1


class MqttClient(Protocol):
    """What an MQTT connection offers (nodes/mqtt implements it)."""

    async def publish(
        self, topic: str, payload: str, qos: int = 0, retain: bool = False
    ) -> bool | None:
        """Send it; False (or an OSError/RuntimeError) when it could not go out."""
        ...

    def subscribe(
        self, topic_filter: str, handler: Callable[[str, bytes], Any], qos: int = 0
    ) -> Callable[[], None]: ...


class MqttSwitch:
    safety_timer = False

    def __init__(self, config: LoadConfig, client: MqttClient) -> None:
        self.config = config
        self.client = client
        self.on: bool | None = None
        self.power_w: float | None = None
        self.online: bool | None = None
        self.problem = ""  # the last payload we could not read, in words
        self._changed = asyncio.Event()
        self._unsubscribe: list[Callable[[], None]] = []

    def open(self) -> None:
        """Subscribe to the state (and power, availability) topics."""
        config = self.config
        assert config.state_topic is not None
        self._unsubscribe.append(self.client.subscribe(config.state_topic, self._on_state, 1))
        if config.power_topic:
            self._unsubscribe.append(self.client.subscribe(config.power_topic, self._on_power, 1))
        if config.availability_topic:
            self._unsubscribe.append(
                self.client.subscribe(config.availability_topic, self._on_availability, 1)
            )

    async def set(self, on: bool) -> LoadReading:
        """Publish the command, then wait (up to timeout_s) for the device to say its state."""
        config = self.config
        assert config.command_topic is not None
        self._changed.clear()
        payload = config.payload_on if on else config.payload_off
        try:
            sent = await self.client.publish(config.command_topic, payload, COMMAND_QOS, False)
        except (OSError, RuntimeError) as exc:  # ConnectionError is an OSError
            raise self._unavailable(f"could not publish to {config.command_topic}: {exc}") from None
        if sent is False:
            raise self._unavailable(
                f"could not publish to {config.command_topic}: MQTT is off or the broker is "
                "not connected"
            )
        try:
            # Until the device says the state asked for: a retained or late message with
            # the old state may arrive first; past the timeout, the last state seen stands.
            async with asyncio.timeout(config.timeout_s):
                while self.on is not on:
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            pass  # no word yet: report the last state seen; the next tick reads again
        return await self.read()

    async def read(self) -> LoadReading:
        if self.online is False:
            raise self._unavailable(f"offline (on {self.config.availability_topic})")
        if self.on is None:
            detail = f"; {self.problem}" if self.problem else ""
            raise self._unavailable(f"no state on {self.config.state_topic} yet{detail}")
        return LoadReading(self.on, self.power_w)

    async def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []

    def _on_state(self, topic: str, payload: bytes) -> None:
        text = payload.decode("utf-8", errors="replace").strip()
        if text.lower() == self.config.payload_on.lower():
            self.on = True
        elif text.lower() == self.config.payload_off.lower():
            self.on = False
        else:
            self.problem = (
                f"{topic} said {text[:40]!r}, not {self.config.payload_on!r} "
                f"or {self.config.payload_off!r}"
            )
            return
        self.problem = ""
        self._changed.set()

    def _on_power(self, topic: str, payload: bytes) -> None:
        try:
            power = float(payload.decode("utf-8", errors="replace").strip())
        except ValueError:
            self.problem = f"{topic} said {payload[:40]!r}, not a power in W"
            return
        if math.isfinite(power):
            self.power_w = max(0.0, power)

    def _on_availability(self, topic: str, payload: bytes) -> None:
        text = payload.decode("utf-8", errors="replace").strip().lower()
        if text == self.config.payload_available.lower():
            self.online = True
        elif text == self.config.payload_not_available.lower():
            self.online = False

    def _unavailable(self, reason: str) -> LoadUnavailable:
        return LoadUnavailable(self.config.id, self.config.where, reason)
