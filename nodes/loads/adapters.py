"""The adapter for each load's device, built from its settings.

Loads on one Shelly (a 2-relay Plus 2PM) share one lock, so that device gets
one request at a time whichever load asks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aiohttp

from nodes.loads.device import LoadAdapter
from nodes.loads.mqtt_switch import MqttClient, MqttSwitch
from nodes.loads.settings import LoadConfig
from nodes.loads.shelly_gen1 import ShellyGen1
from nodes.loads.shelly_gen2 import ShellyGen2


class AdapterFactory:
    """Makes adapters; ``session`` and ``mqtt`` are asked for only when a load needs them."""

    def __init__(
        self,
        session: Callable[[], aiohttp.ClientSession],
        mqtt: Callable[[], MqttClient],
    ) -> None:
        self._session = session
        self._mqtt = mqtt
        self._locks: dict[tuple[str, int], asyncio.Lock] = {}

    def make(self, config: LoadConfig) -> LoadAdapter:
        if config.adapter == "mqtt":
            switch = MqttSwitch(config, self._mqtt())
            switch.open()
            return switch
        lock = self._locks.setdefault((str(config.host).lower(), config.port), asyncio.Lock())
        if config.adapter == "shelly_gen1":
            return ShellyGen1(config, self._session(), lock)
        if config.adapter == "shelly_gen2":
            return ShellyGen2(config, self._session(), lock)
        raise ValueError(f"load '{config.id}': unknown adapter {config.adapter!r}")
