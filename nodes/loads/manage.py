"""The ``loads.manage`` node: read every load's device, decide, switch what must change.

Each run reads all devices (one request at a time per device, devices in
parallel), lets the manager (``nodes.loads.manager``) decide from the plan,
the price spike, manual commands and the PV surplus, commands only the loads
whose device is not already as wanted (and renews the safety timer of a load
kept on once half of it has run), reads each back, and writes
``global.loads``. A device that fails makes its own load unavailable and is
tried again next run; the others carry on. Unavailability is logged once when
it starts and once when it ends, not every run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from flowengine.durations import parse_duration
from flowengine.message import Message
from flowengine.node import ContextKey, Node, NodeContext
from flowengine.schema import DURATION
from nodes.loads.adapters import AdapterFactory
from nodes.loads.commands import COMMANDS_KEY, LOADS_KEY, active_commands
from nodes.loads.device import LoadAdapter, LoadUnavailable
from nodes.loads.links import DeviceLinks
from nodes.loads.manager import (
    LoadDecision,
    LoadMemory,
    Memory,
    Observation,
    Tick,
    decide,
    record_outcome,
)
from nodes.loads.settings import LoadConfig, load_configs, zone_of

#: Global keys read each run, and the config option that renames each.
DEFAULT_KEYS = {
    "plan_key": "plan",
    "spike_key": "price_spike",
    "commands_key": COMMANDS_KEY,
    "telemetry_key": "telemetry",
    "loads_key": LOADS_KEY,
}
#: Flow-context key of the node's own memory (the manager's, and when timers were armed).
DEFAULT_STATE_KEY = "load_manager"
DEFAULT_TELEMETRY_MAX_AGE = "15m"
DEFAULT_SPIKE_MAX_AGE = "1h"

_KEY = {"type": "string", "minLength": 1}


@dataclass(frozen=True, slots=True)
class _Outcome:
    """A load after this run's command (or without one)."""

    on: bool | None
    power_w: float | None
    error: str | None
    state: str
    reason: str


class ManageLoads(Node):
    type_name = "loads.manage"
    reads: ClassVar[tuple[ContextKey, ...]] = (
        ContextKey("plan", "the plan", "plan_key"),
        ContextKey("price_spike", "the price spike now", "spike_key"),
        ContextKey("load_commands", "manual load commands", "commands_key"),
        ContextKey("telemetry", "the inverter's reading", "telemetry_key"),
    )
    writes: ClassVar[tuple[ContextKey, ...]] = (
        ContextKey("loads", "every load's state", "loads_key"),
    )
    description = (
        "Switches the site's loads (Shelly relays, MQTT switches) by the plan, solar surplus, "
        "price spikes and manual commands; reports each load in global.loads."
    )
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "http": {
                "type": "string",
                "x-connection": "core.http",
                "description": "shared HTTP session for Shelly loads (default: the node's own)",
            },
            "mqtt": {
                "type": "string",
                "x-connection": "mqtt.broker",
                "description": "the MQTT connection, for mqtt loads",
            },
            "plan_key": {**_KEY, "description": "global key of the plan (plan)"},
            "spike_key": {
                **_KEY,
                "description": "global key of the price spike: a bool, or prices.spike's "
                "payload {spike, interval_start, ...} (price_spike)",
            },
            "commands_key": {**_KEY, "description": "global key of manual commands"},
            "telemetry_key": {**_KEY, "description": "global key of telemetry (pv_w, load_w)"},
            "loads_key": {**_KEY, "description": "global key written with every load (loads)"},
            "state_key": {
                "default": DEFAULT_STATE_KEY,
                **_KEY,
                "description": "flow key of the node's memory",
            },
            "telemetry_max_age": {
                "default": DEFAULT_TELEMETRY_MAX_AGE,
                **DURATION,
                "description": "older telemetry gives no PV surplus",
            },
            "spike_max_age": {
                "default": DEFAULT_SPIKE_MAX_AGE,
                **DURATION,
                "description": "a stored spike whose interval began longer ago is over",
            },
        },
        "additionalProperties": False,
    }
    takes = "any message (a trigger); a payload {spike: bool} is used over the stored spike"
    gives: ClassVar[dict[str, str]] = {
        "out": "payload = global.loads: {load: {name, state, on, power_w, reason, "
        "run_today_s, day_start, available, last_error}}"
    }

    def __init__(self, ctx: NodeContext, config: dict[str, Any]) -> None:
        super().__init__(ctx, config)
        self._links = DeviceLinks(ctx, config, "an mqtt load")
        self._factory = AdapterFactory(self._links.session, self._links.mqtt)
        self._adapters: dict[str, tuple[LoadConfig, LoadAdapter | str]] = {}

    async def stop(self) -> None:
        for _, adapter in self._adapters.values():
            if not isinstance(adapter, str):
                await adapter.close()
        self._adapters = {}
        await self._links.close()

    async def process(self, msg: Message) -> Message:
        now = self.ctx.clock.time()
        settings = self.ctx.settings
        configs = load_configs(settings)
        adapters = await self._adapters_for(configs)
        names = list(configs)
        readings = await asyncio.gather(*(self._read(adapters[name]) for name in names))
        observed = dict(zip(names, readings, strict=True))
        saved = self.ctx.flow.get(self._state_key) or {}
        before: Memory = saved.get("loads") or {}
        armed: dict[str, float] = saved.get("armed") or {}
        tick = Tick(
            now=now,
            zone=zone_of(settings),
            plan=self.ctx.globals.peek(self._key("plan_key")),
            spike=self._spike(msg, now),
            commands=self._commands(now),
            observed=observed,
            surplus_w=self._surplus(now),
        )
        decisions, memory = decide(configs, tick, before)
        outcomes = await asyncio.gather(
            *(
                self._act(
                    configs[name], adapters[name], decisions[name], observed[name], armed, now
                )
                for name in names
            )
        )
        record: dict[str, dict[str, Any]] = {}
        for name, outcome in zip(names, outcomes, strict=True):
            changed = outcome.state if outcome.state != decisions[name].state else None
            memory = record_outcome(memory, name, outcome.on, now, changed)
            record[name] = self._report(configs[name], decisions[name], outcome)
            self._log_change(name, LoadMemory.of(before.get(name)).state, outcome)
        self.ctx.flow.set(self._state_key, {"loads": memory, "armed": armed})
        self.ctx.globals.set(self._key("loads_key"), record)
        self._status(record)
        msg.payload = record
        return msg

    # -- devices ---------------------------------------------------------------

    async def _adapters_for(
        self, configs: Mapping[str, LoadConfig]
    ) -> dict[str, LoadAdapter | str]:
        """Each load's adapter (or why it has none), rebuilt when its settings change."""
        for name in list(self._adapters):
            kept_config, adapter = self._adapters[name]
            if configs.get(name) != kept_config or isinstance(adapter, str):  # errors: try again
                del self._adapters[name]
                if not isinstance(adapter, str):
                    await adapter.close()
        for name, config in configs.items():
            if name not in self._adapters:
                try:
                    made: LoadAdapter | str = self._factory.make(config)
                except LookupError as exc:  # no such connection, or not open yet
                    made = str(exc)
                self._adapters[name] = (config, made)
        return {name: self._adapters[name][1] for name in configs}

    async def _read(self, adapter: LoadAdapter | str) -> Observation:
        """What the device says; the error is the reason alone (``_act`` names the load)."""
        if isinstance(adapter, str):
            return Observation(None, error=adapter)
        try:
            reading = await adapter.read()
        except LoadUnavailable as exc:
            return Observation(None, error=exc.reason)
        return Observation(reading.on, reading.power_w)

    async def _act(
        self,
        config: LoadConfig,
        adapter: LoadAdapter | str,
        decision: LoadDecision,
        observed: Observation,
        armed: dict[str, float],
        now: float,
    ) -> _Outcome:
        """Command the load if its device is not as wanted (or its timer needs renewing)."""
        desired = decision.desired
        error = f"load '{config.id}' ({config.where}): {observed.error}" if observed.error else None
        unchanged = _Outcome(observed.on, observed.power_w, error, decision.state, decision.reason)
        if desired is None or isinstance(adapter, str):
            return unchanged
        renew = (
            desired
            and observed.on is True
            and adapter.safety_timer
            and now - armed.get(config.id, float("-inf")) >= config.safety_off_s / 2
        )
        if desired == observed.on and not renew:
            return unchanged
        try:
            reading = await adapter.set(desired)
        except LoadUnavailable as exc:
            armed.pop(config.id, None)
            return _Outcome(None, None, str(exc), "unavailable", f"command failed: {exc.reason}")
        if desired and adapter.safety_timer:
            armed[config.id] = now
        elif not desired:
            armed.pop(config.id, None)
        error = None
        if reading.on != desired:
            error = (
                f"load '{config.id}' ({config.where}): commanded {_word(desired)}, "
                f"but the device reports {_word(reading.on)}"
            )
        return _Outcome(reading.on, reading.power_w, error, decision.state, decision.reason)

    # -- inputs ------------------------------------------------------------------

    def _key(self, option: str) -> str:
        return str(self.config.get(option, DEFAULT_KEYS[option]))

    @property
    def _state_key(self) -> str:
        return str(self.config["state_key"])

    def _spike(self, msg: Message, now: float) -> bool:
        """The message's ``spike`` if it says one, else the stored spike while it is recent."""
        payload = msg.payload
        if isinstance(payload, Mapping) and isinstance(payload.get("spike"), bool):
            return bool(payload["spike"])
        stored = self.ctx.globals.peek(self._key("spike_key"))
        if isinstance(stored, bool):
            return stored
        if not isinstance(stored, Mapping) or stored.get("spike") is not True:
            return False
        start = stored.get("interval_start")
        max_age = parse_duration(self.config["spike_max_age"])
        return not (isinstance(start, int | float) and now - start > max_age)

    def _commands(self, now: float) -> dict[str, Any]:
        """Manual commands in force; expired ones are removed from the store."""
        key = self._key("commands_key")
        stored = self.ctx.globals.get(key)
        active = active_commands(stored, now)
        if isinstance(stored, Mapping) and set(stored) != set(active):
            self.ctx.globals.set(key, {name: stored[name] for name in active})
        return dict(active)

    def _surplus(self, now: float) -> float | None:
        """PV not used by the house now (W), from recent telemetry; None when unknown."""
        telemetry = self.ctx.globals.peek(self._key("telemetry_key"))
        if not isinstance(telemetry, Mapping):
            return None
        pv, load, at = telemetry.get("pv_w"), telemetry.get("load_w"), telemetry.get("timestamp")
        if not isinstance(pv, int | float) or not isinstance(load, int | float):
            return None
        max_age = parse_duration(self.config["telemetry_max_age"])
        if isinstance(at, int | float) and now - at > max_age:
            return None
        return max(0.0, float(pv)) - max(0.0, float(load))

    # -- reporting -----------------------------------------------------------------

    @staticmethod
    def _report(config: LoadConfig, decision: LoadDecision, outcome: _Outcome) -> dict[str, Any]:
        return {
            "name": config.name,
            "state": outcome.state,
            "on": outcome.on,
            "power_w": outcome.power_w,
            "reason": outcome.reason,
            "run_today_s": decision.run_today_s,
            "day_start": decision.day_start,
            "available": outcome.on is not None,
            "last_error": outcome.error,
        }

    def _log_change(self, name: str, before: str, outcome: _Outcome) -> None:
        if outcome.on is None and before != "unavailable":
            self.ctx.log.warning("%s", outcome.error or f"load '{name}' is unavailable")
        elif outcome.on is not None and before == "unavailable":
            self.ctx.log.info("load '%s' answers again", name)

    def _status(self, record: Mapping[str, Mapping[str, Any]]) -> None:
        if not record:
            self.ctx.status("no loads configured", "idle")
            return
        running = sum(1 for r in record.values() if r["on"])
        problems = [name for name, r in record.items() if r["last_error"]]
        text = f"{running}/{len(record)} on"
        if problems:
            self.ctx.status(f"{text}; trouble: {', '.join(problems)}", "warn")
        else:
            self.ctx.status(text)


def _word(on: bool | None) -> str:
    return "on" if on else "off"
