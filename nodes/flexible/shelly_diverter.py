"""A hot-water element (or any fixed load) on a Shelly relay: on at ``max_w`` or off.

The relay is driven by the loads package's Shelly adapters (Gen1 HTTP, Gen2+ RPC),
built from a ``LoadConfig`` made from the flexible load's settings, so it speaks the
protocol, auth and safety timer exactly as a load on a Shelly does. A relay has one
power: ``set_power`` turns it on when asked for at least ``min_w`` (which is
``max_w`` for a relay) and off below, and says ``max_w`` or 0. Each turn-on carries the
Shelly's auto-off (``SAFETY_OFF_S``) and restarts it, so the element does not run on
if Power Master stops: whoever drives it must ask again within that time while it
should stay on. ``read`` gives the relay's meter (None on a model without one) and,
as the setpoint, ``max_w`` while the relay is on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

import aiohttp

from flowengine.durations import parse_duration
from nodes.flexible.device import ChargerReading, ChargerUnavailable
from nodes.flexible.settings import FlexConfig
from nodes.loads.device import LoadAuthFailed, LoadUnavailable
from nodes.loads.settings import LOAD_DEFAULTS, LoadConfig
from nodes.loads.shelly_gen1 import ShellyGen1
from nodes.loads.shelly_gen2 import ShellyGen2

#: The relay's auto-off after each turn-on (the loads' default safety_off, 30 min).
SAFETY_OFF_S = parse_duration(LOAD_DEFAULTS["safety_off"])
T = TypeVar("T")


def load_config(config: FlexConfig) -> LoadConfig:
    """The loads package's view of this relay: its device, auth and timeout."""
    return LoadConfig(
        id=config.id,
        name=config.name,
        adapter=config.adapter,
        power_w=config.max_w,
        run_time_s=None,
        window=None,
        min_run_s=0.0,
        priority="opportunistic",
        prefer_solar=False,
        shed_on_spike=False,
        safety_off_s=SAFETY_OFF_S,
        timeout_s=config.timeout_s,
        host=str(config.get("host")),
        port=int(config.get("port")),
        channel=int(config.get("channel")),
        username=config.get("username"),
        password=config.get("password"),
    )


class ShellyDiverter:
    def __init__(
        self, config: FlexConfig, session: aiohttp.ClientSession, lock: asyncio.Lock
    ) -> None:
        self.config = config
        self.load = load_config(config)
        relay = ShellyGen1 if config.adapter == "shelly_gen1" else ShellyGen2
        self.relay: ShellyGen1 | ShellyGen2 = relay(self.load, session, lock)

    @property
    def where(self) -> str:
        return self.load.where

    async def read(self) -> ChargerReading:
        reading = await self._ask(self.relay.read())
        return ChargerReading(
            power_w=reading.power_w, setpoint_w=self.config.max_w if reading.on else 0.0
        )

    async def set_power(self, watts: float) -> float:
        on = watts > 0 and watts >= self.config.min_w
        await self._ask(self.relay.set(on))
        return self.config.max_w if on else 0.0

    def close(self) -> None:
        """Nothing to release: the HTTP session and the lock are shared."""

    async def _ask(self, request: Awaitable[T]) -> T:
        """The relay's answer; its LoadUnavailable as this load's ChargerUnavailable."""
        try:
            return await request
        except LoadAuthFailed as exc:
            reason = exc.reason
            if self.load.password is None:
                reason = (
                    "asks for a password (auth is on in the device); set "
                    f"flexible_loads.{self.config.id}.password"
                )
            raise ChargerUnavailable(self.config.id, exc.device, reason) from None
        except LoadUnavailable as exc:
            raise ChargerUnavailable(self.config.id, exc.device, exc.reason) from None
