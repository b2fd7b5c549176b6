"""What every load adapter answers, whatever the device: its state and power, or why not.

An adapter speaks one device's protocol at the edge and hands back a
``LoadReading`` (the device's own word on whether it is on, and its power when
it meters). Anything that keeps it from answering (offline, too slow, a refused
password, an answer that is not what the device should say) is a
``LoadUnavailable`` naming the load and the device, so one bad device makes only
its own load unavailable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from flowengine.errors import NodeFailure


@dataclass(frozen=True, slots=True)
class LoadReading:
    """What the device reports: on or off, and its power in W (None: it does not meter)."""

    on: bool
    power_w: float | None = None


class LoadUnavailable(NodeFailure):
    """The device did not answer, or answered something we cannot use."""

    def __init__(self, load: str, device: str, reason: str) -> None:
        self.load = load
        self.device = device
        self.reason = reason
        super().__init__(f"load '{load}' ({device}): {reason}")


class LoadAuthFailed(LoadUnavailable):
    """The device refused our credentials (or asked for some and we have none)."""


class LoadAdapter(Protocol):
    """One load's device. ``set`` returns what the device reports after the command."""

    #: Whether a turn-on carries a device-side auto-off (then it is renewed while on).
    safety_timer: bool

    async def set(self, on: bool) -> LoadReading: ...

    async def read(self) -> LoadReading: ...

    async def close(self) -> None: ...
