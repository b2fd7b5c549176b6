"""The ``flexible.control`` node: each run, read every charger, decide its power, set it.

Each run reads every flexible load's device (in parallel), counts what each drew since
the last run (its session, since it was plugged in or its window opened, and the plan
slot's share), works out what it still needs by its deadline (nodes.flexible.deadline),
decides its power from the plan's slot, the meter and its limits (nodes.flexible.decide),
sets it where that changed (or every ``renew`` to outlive a charger's reboot), and writes
``global.flexible_loads``. The car's SOC and plugged state also go to
``global.flexible_needs``, which changes only when they do: the plan flow re-plans on it.
A device that fails makes its own load unavailable; the others carry on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, ClassVar

from flowengine.durations import parse_duration
from flowengine.message import Message
from flowengine.node import ContextKey, Node, NodeContext
from flowengine.schema import DURATION
from nodes.flexible.adapters import ChargerFactory
from nodes.flexible.deadline import need
from nodes.flexible.decide import FlexDecision, FlexTick, decide
from nodes.flexible.device import ChargerAdapter, ChargerReading, ChargerUnavailable
from nodes.flexible.settings import FlexConfig, flexible_configs
from nodes.loads.links import DeviceLinks
from nodes.loads.settings import zone_of

#: Power counted between two reads at most this far apart (a gap counts no more).
MAX_COUNTED_GAP_S = 600.0
#: A setpoint this much (W) off what the device draws, minutes after it was set, is said.
MISMATCH_W = 500.0
MISMATCH_AFTER_S = 180.0
#: With no plan yet this long after start, a load that needs energy runs at its most
#: (planning has failed); before that it waits for the first plan.
FIRST_PLAN_GRACE_S = 900.0

_KEY = {"type": "string", "minLength": 1}


class FlexibleControl(Node):
    type_name = "flexible.control"
    reads: ClassVar[tuple[ContextKey, ...]] = (
        ContextKey("plan", "the plan", "plan_key"),
        ContextKey("telemetry", "the inverter's reading (the meter)", "telemetry_key"),
        ContextKey("flexible_targets", "one-off targets (the API, Home Assistant)", "targets_key"),
    )
    writes: ClassVar[tuple[ContextKey, ...]] = (
        ContextKey("flexible_loads", "every flexible load's state", "state_key"),
        ContextKey("flexible_needs", "each car's plug and SOC (a change re-plans)", "needs_key"),
    )
    description = (
        "Sets each car charger or diverter (MQTT, OpenEVSE, evcc, Shelly) to the plan's "
        "power for the slot, plus sun the plan did not expect, within its limits; reports "
        "each in global.flexible_loads."
    )
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "http": {
                "type": "string",
                "x-connection": "core.http",
                "description": "shared HTTP session (OpenEVSE, evcc, Shelly)",
            },
            "mqtt": {
                "type": "string",
                "x-connection": "mqtt.broker",
                "description": "the MQTT connection, for mqtt chargers",
            },
            "plan_key": {**_KEY, "default": "plan", "description": "global key of the plan"},
            "telemetry_key": {
                **_KEY,
                "default": "telemetry",
                "description": "global key of the inverter's reading, when the message "
                "carries none",
            },
            "targets_key": {
                **_KEY,
                "default": "flexible_targets",
                "description": "global key of one-off targets by load id",
            },
            "state_key": {
                **_KEY,
                "default": "flexible_loads",
                "description": "global key the loads' state is written to",
            },
            "needs_key": {
                **_KEY,
                "default": "flexible_needs",
                "description": "global key of each car's plug and SOC (changes re-plan)",
            },
            "telemetry_max_age": {
                "default": "2m",
                **DURATION,
                "description": "an older meter reading gives no surplus",
            },
            "renew": {
                "default": "15m",
                **DURATION,
                "description": "set an unchanged setpoint again this often",
            },
        },
        "additionalProperties": False,
    }
    takes = "any message; a payload with grid_w (foxess.read's) is the meter now"
    gives: ClassVar[dict[str, str]] = {
        "out": "payload = global.flexible_loads: {load: {name, kind, power_w, setpoint_w, "
        "plugged, soc, session_kwh, needed_kwh, deadline, reason, available, last_error}}"
    }

    def __init__(self, ctx: NodeContext, config: dict[str, Any]) -> None:
        super().__init__(ctx, config)
        self._links = DeviceLinks(ctx, config, "an mqtt charger")
        self._factory = ChargerFactory(self._links.session, self._links.mqtt)
        self._adapters: dict[str, tuple[FlexConfig, ChargerAdapter | str]] = {}
        self._started: float | None = None

    async def stop(self) -> None:
        for _, adapter in self._adapters.values():
            if not isinstance(adapter, str):
                adapter.close()
        self._adapters = {}
        await self._links.close()

    async def process(self, msg: Message) -> Message:
        now = self.ctx.clock.time()
        if self._started is None:
            self._started = now
        settings = self.ctx.settings
        configs = flexible_configs(settings)
        adapters = self._adapters_for(configs)
        names = list(configs)
        readings = await asyncio.gather(*(_read(adapters[name]) for name in names))
        memory: dict[str, dict[str, Any]] = dict(self.ctx.flow.get("memory") or {})
        plan = self.ctx.globals.peek(self.config["plan_key"])
        grid_w, pv_w = self._meter(msg, now)
        one_offs = self.ctx.globals.peek(self.config["targets_key"]) or {}
        zone = zone_of(settings)
        record: dict[str, dict[str, Any]] = {}
        needs: dict[str, dict[str, Any]] = {}
        for name, (reading, error) in zip(names, readings, strict=True):
            config = configs[name]
            state = _observed(_counted(memory.get(name) or {}, reading, now), reading, now)
            needed = need(config, state, now, zone, _mapping(one_offs).get(name))
            if float(state["session_start"]) < needed.opened <= now:  # its window opened again
                state.update(session_start=now, session_kwh=0.0, soc_kwh=0.0)
            tick = _tick(plan, name, now, zone, grid_w, needed.energy_kwh, state)
            tick = replace(
                tick,
                in_window=needed.opened <= now < needed.closes,
                pv_w=pv_w,
                hours_left=(needed.closes - now) / 3600.0,
            )
            if reading is None:
                decision = FlexDecision(0.0, f"unavailable: {error}")
            elif tick.planned_w is None and now - self._started < FIRST_PLAN_GRACE_S:
                decision = FlexDecision(0.0, "waiting for the first plan")
            else:
                decision = decide(
                    config,
                    tick,
                    reading.power_w,
                    reading.plugged,
                    float(state.get("setpoint_w") or 0.0),
                    (now - float(state.get("set_at") or 0.0)) / 60.0,
                )
            error = await self._act(config, adapters[name], decision, reading, state, now, error)
            memory[name] = state
            record[name] = _report(config, state, reading, decision, needed, error)
            needs[name] = {
                "plugged": None if reading is None else reading.plugged,
                "soc": None if reading is None or reading.soc is None else round(reading.soc, 2),
            }
        self.ctx.flow.set("memory", memory)
        self.ctx.globals.set(self.config["state_key"], record)
        self.ctx.globals.set(self.config["needs_key"], needs)
        self._status(record)
        msg.payload = record
        return msg

    async def _act(
        self,
        config: FlexConfig,
        adapter: ChargerAdapter | str,
        decision: FlexDecision,
        reading: ChargerReading | None,
        state: dict[str, Any],
        now: float,
        error: str | None,
    ) -> str | None:
        """Set the device where the decision changed (or is due again); say what is wrong."""
        if isinstance(adapter, str) or reading is None:
            return error
        last = state.get("setpoint_w")
        due = now - float(state.get("set_at") or float("-inf")) >= parse_duration(
            self.config["renew"]
        )
        if last is None or abs(decision.setpoint_w - float(last)) > 1.0 or due:
            try:
                asked = await adapter.set_power(decision.setpoint_w)
            except ChargerUnavailable as exc:
                return str(exc)
            if last is None or abs(asked - float(last)) > 1.0:
                self.ctx.log.info("%s: %.0f W (%s)", config.id, asked, decision.reason)
            state.update(setpoint_w=asked, set_at=now)
            return None
        drawn = reading.power_w
        settled = now - float(state.get("set_at") or now) >= MISMATCH_AFTER_S
        if drawn is not None and settled and reading.plugged is not False:
            asked = float(last)
            if abs(drawn - asked) > max(MISMATCH_W, 0.2 * asked):
                return (
                    f"flexible load '{config.id}' ({adapter.where}): set to {asked:.0f} W "
                    f"but draws {drawn:.0f} W"
                )
        return None

    def _adapters_for(self, configs: Mapping[str, FlexConfig]) -> dict[str, ChargerAdapter | str]:
        """Each load's adapter (or why it has none), rebuilt when its settings change."""
        for name in list(self._adapters):
            kept, adapter = self._adapters[name]
            if configs.get(name) != kept or isinstance(adapter, str):
                del self._adapters[name]
                if not isinstance(adapter, str):
                    adapter.close()
        for name, config in configs.items():
            if name not in self._adapters:
                try:
                    made: ChargerAdapter | str = self._factory.make(config)
                except LookupError as exc:
                    made = str(exc)
                self._adapters[name] = (config, made)
        return {name: self._adapters[name][1] for name in configs}

    def _meter(self, msg: Message, now: float) -> tuple[float | None, float | None]:
        """The meter now (W, + importing) and the PV: the message's reading, else a recent
        stored one; (None, None) when neither is fresh."""
        for reading in (msg.payload, self.ctx.globals.peek(self.config["telemetry_key"])):
            if isinstance(reading, Mapping) and isinstance(reading.get("grid_w"), int | float):
                at = reading.get("timestamp")
                max_age = parse_duration(self.config["telemetry_max_age"])
                if not isinstance(at, int | float) or now - at <= max_age:
                    pv = reading.get("pv_w")
                    return float(reading["grid_w"]), float(pv) if isinstance(
                        pv, int | float
                    ) else None
        return None, None

    def _status(self, record: Mapping[str, Mapping[str, Any]]) -> None:
        if not record:
            self.ctx.status("no flexible loads configured", "idle")
            return
        text = ", ".join(f"{name} {r['setpoint_w'] or 0:.0f} W" for name, r in record.items())
        problems = [name for name, r in record.items() if r["last_error"]]
        if problems:
            self.ctx.status(f"{text}; trouble: {', '.join(problems)}", "warn")
        else:
            self.ctx.status(text)


async def _read(adapter: ChargerAdapter | str) -> tuple[ChargerReading | None, str | None]:
    if isinstance(adapter, str):
        return None, adapter
    try:
        return await adapter.read(), None
    except ChargerUnavailable as exc:
        return None, str(exc)


def _counted(state: dict[str, Any], reading: ChargerReading | None, now: float) -> dict[str, Any]:
    """``state`` with the energy drawn since the last read added: this reading's power over
    the gap (the setpoint changes just after a read, so what a reading says is what ran
    since the one before), a gap over MAX_COUNTED_GAP_S counting that much."""
    state = dict(state)
    power = None if reading is None else reading.power_w
    before, at = state.get("power_w"), state.get("read_at")
    if power is not None and isinstance(before, int | float) and isinstance(at, int | float):
        gap = min(max(0.0, now - at), MAX_COUNTED_GAP_S)
        kwh = power * gap / 3.6e6
        state["session_kwh"] = float(state.get("session_kwh") or 0.0) + kwh
        state["slot_kwh"] = float(state.get("slot_kwh") or 0.0) + kwh
    state.update(power_w=power, read_at=now if power is not None else None)
    return state


def _observed(state: dict[str, Any], reading: ChargerReading | None, now: float) -> dict[str, Any]:
    """The car's plug and SOC as read; a new session when a car is plugged in."""
    plugged = None if reading is None else reading.plugged
    fresh = plugged is True and state.get("plugged") is False
    if fresh or state.get("session_start") is None:
        state.update(session_start=now, session_kwh=0.0, soc_kwh=0.0)
    if plugged is not None:
        state["plugged"] = plugged
    if reading is not None and reading.soc is not None and reading.soc != state.get("soc"):
        # The energy counter when the car said this SOC: what it draws after counts on top.
        state.update(soc=reading.soc, soc_kwh=float(state.get("session_kwh") or 0.0))
    return state


def _tick(
    plan: Any,
    name: str,
    now: float,
    zone: Any,
    grid_w: float | None,
    needed_kwh: float,
    state: dict[str, Any],
) -> FlexTick:
    """The plan's slot now, its power for the load, and this slot's count so far."""
    slots = plan.get("slots") if isinstance(plan, Mapping) else None
    found = _slot_at(slots or [], now)
    if found is None:
        state.update(slot_start=None, slot_kwh=0.0)
        return FlexTick(now, "slot now", None, grid_w=grid_w, needed_kwh=needed_kwh)
    index, start, slot_s = found
    made = plan.get("created_at")
    if state.get("slot_start") != start or state.get("plan_at") != made:
        # This slot's count starts again with the slot, and with a plan made in it (whose
        # energy for the slot is what is still to come then).
        state.update(slot_start=start, plan_at=made, slot_kwh=0.0)
    slot = slots[index] if slots else {}
    entry = next(
        (f for f in plan.get("flexible") or [] if isinstance(f, Mapping) and f.get("name") == name),
        None,
    )
    power = entry.get("power_w") if entry else None
    average = float(power[index]) if isinstance(power, list) and index < len(power) else 0.0
    planned = average
    share = float((entry or {}).get("first_share") or 1.0)
    if entry and index == entry.get("first_slot") and 0 < share < 1:
        planned = average / share  # the slot's average, in what was left of it
    price = slot.get("import_price")
    label = datetime.fromtimestamp(start, zone).strftime("%H:%M") + " slot"
    if isinstance(price, int | float):
        label += f" at {price * 100:.1f}c"
    return FlexTick(
        now,
        label,
        planned,
        planned_export_w=float(slot.get("grid_export_w") or 0.0),
        grid_w=grid_w,
        needed_kwh=needed_kwh,
        slot_kwh=float(state.get("slot_kwh") or 0.0),
        slot_s=slot_s,
        slot_energy_kwh=average / 1000.0 * slot_s / 3600.0,
    )


def _slot_at(slots: list[Any], now: float) -> tuple[int, float, float] | None:
    """(index, start epoch, length s) of the plan slot holding ``now``."""
    starts = []
    for slot in slots:
        try:
            starts.append(datetime.fromisoformat(str(slot["start"])).timestamp())
        except (KeyError, TypeError, ValueError):
            return None
    slot_s = starts[1] - starts[0] if len(starts) > 1 else 1800.0
    for i, start in enumerate(starts):
        if start <= now < start + slot_s:
            return i, start, slot_s
    return None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _report(
    config: FlexConfig,
    state: Mapping[str, Any],
    reading: ChargerReading | None,
    decision: FlexDecision,
    needed: Any,
    error: str | None,
) -> dict[str, Any]:
    return {
        "name": config.name,
        "kind": config.kind,
        "power_w": None if reading is None else reading.power_w,
        "setpoint_w": state.get("setpoint_w"),
        "plugged": state.get("plugged"),
        "soc": state.get("soc"),
        "session_start": state.get("session_start"),
        "session_kwh": round(float(state.get("session_kwh") or 0.0), 4),
        "needed_kwh": round(needed.energy_kwh, 3),
        "deadline": needed.deadline,
        "reason": decision.reason,
        "available": reading is not None,
        "last_error": error,
    }
