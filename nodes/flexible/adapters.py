"""The adapter for each flexible load's device, built from its settings.

``mqtt`` is an MqttCharger (subscribed at once), ``openevse`` an OpenEvse, ``evcc`` an
Evcc, ``shelly_gen1``/``shelly_gen2`` a ShellyDiverter, and ``none`` a PlanOnly: a load
that is planned but driven by nobody (its plan is shown, nothing is sent). Relays on
one Shelly share one lock, so the device gets one request at a time; pass the loads'
lock table as ``locks`` when loads and flexible loads share a multi-relay Shelly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aiohttp

from nodes.flexible.device import ChargerAdapter, ChargerReading
from nodes.flexible.evcc import Evcc
from nodes.flexible.mqtt_charger import MqttCharger
from nodes.flexible.openevse import OpenEvse
from nodes.flexible.settings import FlexConfig
from nodes.flexible.shelly_diverter import ShellyDiverter
from nodes.loads.mqtt_switch import MqttClient


class PlanOnly:
    """No device: it takes any power asked and is taken to draw it (so the energy it is
    given counts towards its target); it knows no plug and no SOC."""

    def __init__(self, config: FlexConfig) -> None:
        self.config = config
        self.asked = 0.0

    @property
    def where(self) -> str:
        return "no device (planned only)"

    async def read(self) -> ChargerReading:
        return ChargerReading(self.asked, setpoint_w=self.asked)

    async def set_power(self, watts: float) -> float:
        self.asked = max(0.0, float(watts))
        return self.asked

    def close(self) -> None:
        """Nothing to release."""


class ChargerFactory:
    """Makes adapters; ``session`` and ``mqtt`` are asked for only when a load needs them."""

    def __init__(
        self,
        session: Callable[[], aiohttp.ClientSession],
        mqtt: Callable[[], MqttClient],
        locks: dict[tuple[str, int], asyncio.Lock] | None = None,
    ) -> None:
        self._session = session
        self._mqtt = mqtt
        self._locks = {} if locks is None else locks

    def make(self, config: FlexConfig) -> ChargerAdapter:
        adapter = config.adapter
        if adapter == "mqtt":
            charger = MqttCharger(config, self._mqtt())
            charger.open()
            return charger
        if adapter == "openevse":
            return OpenEvse(config, self._session())
        if adapter == "evcc":
            return Evcc(config, self._session())
        if adapter in ("shelly_gen1", "shelly_gen2"):
            key = (str(config.get("host")).lower(), int(config.get("port")))
            lock = self._locks.setdefault(key, asyncio.Lock())
            return ShellyDiverter(config, self._session(), lock)
        if adapter == "none":
            return PlanOnly(config)
        raise ValueError(f"flexible load '{config.id}': unknown adapter {adapter!r}")
