"""What every charger or diverter adapter answers, whatever the device.

An adapter speaks one device's protocol at the edge: it reads a ``ChargerReading``
(what it draws now, whether a car is plugged in, the car's SOC when it knows it) and
sets a power in watts (0 stops it; an adapter that sets amps converts at the load's
voltage and phases, rounding down so it never draws more than asked). Anything that
keeps it from answering is a ``ChargerUnavailable`` naming the load and the device, so
one bad device makes only its own load unavailable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from flowengine.errors import NodeFailure
from nodes.flexible.settings import FlexConfig


@dataclass(frozen=True, slots=True)
class ChargerReading:
    """What the device reports. None: it does not say (a relay knows no car)."""

    power_w: float | None
    plugged: bool | None = None
    soc: float | None = None  # the car's, a fraction
    setpoint_w: float | None = None  # what the device says it was last told


class ChargerUnavailable(NodeFailure):
    """The device did not answer, or answered something we cannot use."""

    def __init__(self, load: str, device: str, reason: str) -> None:
        self.load = load
        self.device = device
        self.reason = reason
        super().__init__(f"flexible load '{load}' ({device}): {reason}")


class ChargerAdapter(Protocol):
    """One device: read it, set its power, let go of it."""

    config: FlexConfig

    @property
    def where(self) -> str:
        """The device, for messages (a host, a topic; never a password)."""
        ...

    async def read(self) -> ChargerReading: ...

    async def set_power(self, watts: float) -> float:
        """Ask for ``watts`` (0: stop); returns the power actually asked for in its unit."""
        ...

    def close(self) -> None: ...


def amps_for(config: FlexConfig, watts: float) -> int:
    """Whole amps per phase for ``watts``, rounded down (never more than asked)."""
    if watts <= 0:
        return 0
    return math.floor(watts / (config.voltage * config.phases) + 1e-9)


def watts_for(config: FlexConfig, amps: float) -> float:
    return amps * config.voltage * config.phases
