"""Drive the pure load manager tick by tick, with devices that do what they are told.

``Sim`` plays the node's part without I/O: each device reports its state, the
manager decides, each device takes the wanted state (unless it is stuck or
offline), and the outcome goes back into the manager's memory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from nodes.loads.manager import (
    LoadDecision,
    ManualCommand,
    Memory,
    Observation,
    Tick,
    decide,
    record_outcome,
)
from nodes.loads.settings import LoadConfig, load_configs

BRISBANE = ZoneInfo("Australia/Brisbane")
SYDNEY = ZoneInfo("Australia/Sydney")


def local(text: str, zone: tzinfo = BRISBANE) -> float:
    """Epoch of a wall-clock time in ``zone``."""
    return datetime.fromisoformat(text).replace(tzinfo=zone).timestamp()


def clock(at: float, zone: tzinfo = BRISBANE) -> str:
    return datetime.fromtimestamp(at, zone).strftime("%H:%M")


def loads(**raw: dict[str, Any]) -> dict[str, LoadConfig]:
    """Load settings by id (each needs power_w and, unless opportunistic, run_time)."""
    return load_configs({"loads": raw})


def plan(first_slot: float, slots: int, **deferrable: list[int]) -> dict[str, Any]:
    """A stored plan of half-hour slots from ``first_slot`` with the given load slots."""
    starts = [datetime.fromtimestamp(first_slot + 1800 * i, UTC).isoformat() for i in range(slots)]
    return {"slots": [{"start": s, "mode": "self_use"} for s in starts], "deferrable": deferrable}


@dataclass
class Sim:
    configs: dict[str, LoadConfig]
    zone: tzinfo = BRISBANE
    plan: dict[str, Any] | None = None
    devices: dict[str, bool | None] = field(default_factory=dict)  # None: offline
    stuck: set[str] = field(default_factory=set)
    memory: Memory = field(default_factory=dict)
    log: list[tuple[float, dict[str, LoadDecision]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        for name in self.configs:
            self.devices.setdefault(name, False)

    def tick(
        self,
        now: float,
        spike: bool = False,
        commands: dict[str, ManualCommand] | None = None,
        surplus: float | None = None,
    ) -> dict[str, LoadDecision]:
        observed = {
            name: Observation(None, error="offline")
            if on is None
            else Observation(on, self.configs[name].power_w if on else 0.0)
            for name, on in self.devices.items()
        }
        tick = Tick(now, self.zone, self.plan, spike, commands or {}, observed, surplus)
        decisions, memory = decide(self.configs, tick, self.memory)
        json.dumps(memory)  # the memory is plain JSON, as context needs
        for name, decision in decisions.items():
            on = self.devices[name]
            if decision.desired is not None and on is not None and name not in self.stuck:
                self.devices[name] = decision.desired
            memory = record_outcome(memory, name, self.devices[name], now)
        self.memory = memory
        self.log.append((now, decisions))
        return decisions

    def run(self, start: float, end: float, step: float = 300, **inputs: Any) -> None:
        """Ticks every ``step`` s from ``start`` to ``end`` inclusive, with the same inputs."""
        now = start
        while now <= end:
            self.tick(now, **inputs)
            now += step

    def switches(self, name: str) -> list[tuple[str, bool | None]]:
        """When (HH:MM) the wanted state of ``name`` changed, from the first tick on."""
        found: list[tuple[str, bool | None]] = []
        for now, decisions in self.log:
            desired = decisions[name].desired
            if not found or found[-1][1] != desired:
                found.append((clock(now, self.zone), desired))
        return found

    def at(self, now: float) -> dict[str, LoadDecision]:
        return next(decisions for at, decisions in self.log if at == now)
