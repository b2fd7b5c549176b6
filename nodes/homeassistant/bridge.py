"""``homeassistant.bridge``: Power Master as one Home Assistant device over MQTT.

One long run (started with the service): it announces the device (discovery),
publishes the state every ``homeassistant.state_every`` on the engine clock,
announces again after every reconnect and whenever Home Assistant says it is
back (``homeassistant/status`` = ``online``; at most once per
``ANSWER_GAP_S``, so a flood of them costs one announcement now and one when the
gap ends), and takes commands from HA's
controls through the same functions the HTTP API uses (the override, set ahead
too; the load commands; a one-off SOC target; each flexible load's one-off target;
the storm reserve SOC in global context). Each flexible load's state goes to its own
topic with the state. A command that arrives with
the retain flag (the broker's replay of a retained one when we subscribe), or one
that does not parse, is refused in the log and never acted on; the control's
state is published again so HA shows what holds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from flowengine.context import Scope
from flowengine.durations import parse_duration
from flowengine.message import Message
from flowengine.node import ContextKey, Node
from flowengine.schema import DURATION
from nodes.control.override_rules import InvalidOverride, clear_override
from nodes.control.planned import set_or_plan_override
from nodes.core.wallclock import site_zone
from nodes.flexible import one_off as flexible_one_off
from nodes.flexible.one_off import InvalidFlexibleTarget
from nodes.flexible.settings import InvalidFlexibleLoads
from nodes.homeassistant import flexible, target
from nodes.homeassistant.commands import (
    ClearOverride,
    CommandError,
    FlexibleCommand,
    SetFlexibleBy,
    SetFlexibleTarget,
    SetOverride,
    SetReserveSoc,
    SetTargetBy,
    SetTargetHard,
    SetTargetSoc,
    SwitchFlexibleTarget,
    SwitchLoad,
    SwitchTarget,
    parse_command,
)
from nodes.homeassistant.discovery import build_discovery
from nodes.homeassistant.settings import HomeAssistantSettings
from nodes.homeassistant.state import build_state, encode, entity_states, flexible_state
from nodes.homeassistant.topics import Topics
from nodes.loads import InvalidLoadCommand, set_load_command
from nodes.mqtt.connection import MqttBroker
from nodes.planning import one_off
from nodes.planning.one_off import InvalidTarget

log = logging.getLogger("power_master.homeassistant")

#: Global keys: the loads announced last (so a removed load is removed in HA after a
#: restart too), and the storm reserve SOC set from HA (over ``storm.reserve_soc``).
ANNOUNCED_KEY = "ha_announced_loads"
RESERVE_KEY = "storm_reserve_soc"
#: Home Assistant's births answered at most this often (engine clock): one in the gap
#: after an answer is answered once when the gap ends, however many came.
ANSWER_GAP_S = 5.0


class _GlobalStore:
    """The ``ContextStore`` face (``get``/``set`` by scope) that ``nodes.control.override_rules``
    takes, over a node's global scope."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def get(self, scope: str, key: str, default: Any = None) -> Any:
        return self._scope.get(key, default)

    def set(self, scope: str, key: str, value: Any) -> None:
        self._scope.set(key, value)


class HomeAssistantBridge(Node):
    type_name = "homeassistant.bridge"
    reads: ClassVar[tuple[ContextKey, ...]] = (
        ContextKey("telemetry", "the inverter's reading"),
        ContextKey("decision", "the control decision"),
        ContextKey("health", "control health"),
        ContextKey("command_check", "the inverter doing what it was told"),
        ContextKey("prices", "the prices reading"),
        ContextKey("storm_reserve", "the storm reserve"),
        ContextKey("loads", "every load's state"),
        ContextKey("override", "the manual override"),
        ContextKey("storm_reserve_soc", "the reserve SOC chosen"),
        ContextKey("soc_targets", "the one-off SOC targets"),
        ContextKey("ha_soc_target", "the SOC target HA's controls chose"),
        ContextKey("flexible_loads", "every flexible load's state"),
        ContextKey("plan", "the plan (each flexible load's planned energy)"),
        ContextKey("flexible_targets", "the flexible loads' one-off targets"),
        ContextKey("ha_flexible_targets", "the flexible loads' targets HA's controls chose"),
    )
    writes: ClassVar[tuple[ContextKey, ...]] = (
        ContextKey("override", "the manual override, from HA's controls"),
        ContextKey("planned_overrides", "overrides set ahead, from HA"),
        ContextKey("storm_reserve_soc", "the reserve SOC chosen in HA"),
        ContextKey("load_commands", "manual load commands from HA"),
        ContextKey("ha_announced_loads", "the loads announced to HA"),
        ContextKey("soc_targets", "the one-off SOC target set from HA"),
        ContextKey("ha_soc_target", "the SOC target HA's controls chose"),
        ContextKey("flexible_targets", "a flexible load's one-off target set from HA"),
        ContextKey("ha_flexible_targets", "the flexible loads' targets HA's controls chose"),
    )
    description = "Announces Power Master to Home Assistant, publishes its state, takes commands."
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "connection": {"type": "string", "x-connection": "mqtt.broker"},
            "every": {**DURATION, "description": "state period (homeassistant.state_every)"},
        },
        "required": ["connection"],
        "additionalProperties": False,
    }
    takes = "a start trigger; runs until the flow stops"
    gives: ClassVar[dict[str, str]] = {"out": 'payload {"enabled": false} when MQTT is off'}

    async def process(self, msg: Message) -> Message:
        broker = self.ctx.connection(self.config["connection"])
        if not isinstance(broker, MqttBroker):
            raise TypeError(f"connection {self.config['connection']!r} is not an mqtt.broker")
        if not broker.enabled:
            self.ctx.status("MQTT is off (no mqtt.host)", "idle")
            msg.payload = {"enabled": False}
            return msg
        self.broker = broker
        self.topics = Topics.from_settings(self.ctx.settings)
        self.published: dict[str, str] = {}  # entity state topic -> payload last sent
        self._answered_at = float("-inf")  # when HA's last birth was answered
        self._answer: asyncio.Task[Any] | None = None  # the one waiting for the gap's end
        every = parse_duration(
            self.config.get("every")
            or (self.ctx.settings.get("homeassistant") or {}).get("state_every", "30s")
        )
        discovery = build_discovery(self.ctx.settings)
        listeners: list[Callable[[], None]] = [
            broker.subscribe(self.topics.ha_status, self._ha_status, qos=1),
            *(
                broker.subscribe(topic, self._command, qos=1, with_retain=True)
                for topic in discovery.command_topics
            ),
            broker.on_connect(self._announce),
        ]
        try:
            while True:
                await self._publish_state()
                await self.ctx.clock.sleep(every)
        finally:
            for stop in listeners:
                stop()
            if self._answer is not None:
                self._answer.cancel()

    # -- publishing --

    async def _announce(self) -> None:
        """Discovery (with removals of loads no longer configured), then every state."""
        announced = self.ctx.globals.get(ANNOUNCED_KEY) or []
        discovery = build_discovery(self.ctx.settings, announced=announced)
        await self.broker.publish(discovery.topic, discovery.encoded(), qos=1, retain=True)
        self.ctx.globals.set(ANNOUNCED_KEY, sorted(discovery.announced_loads))
        self.published = {}
        await self._publish_state()
        self.ctx.status(f"announced {len(discovery.payload['cmps'])} entities")

    async def _publish_state(self) -> None:
        if not self.broker.connected:
            self.ctx.status("waiting for the MQTT broker", "warn")
            return
        now = self.ctx.clock.time()
        scope = self.ctx.globals
        state = build_state(
            now,
            telemetry=scope.peek("telemetry"),
            decision=scope.peek("decision"),
            health=scope.peek("health"),
            prices=scope.peek("prices"),
            storm=scope.peek("storm_reserve"),
            command_check=scope.peek("command_check"),
        )
        await self.broker.publish(self.topics.state, encode(state))
        reports = scope.peek("flexible_loads")
        for config in flexible.configs(self.ctx.settings):
            load = flexible_state(
                config,
                now,
                self.ctx.settings,
                status=reports.get(config.id) if isinstance(reports, Mapping) else None,
                plan=scope.peek("plan"),
                targets=scope.peek(flexible_one_off.TARGETS_KEY),
            )
            await self.broker.publish(self.topics.flexible_state(config.id), encode(load))
        for topic, payload in self._entity_states(now).items():
            if self.published.get(topic) != payload:
                await self.broker.publish(topic, payload, qos=1, retain=True)
                self.published[topic] = payload

    def _entity_states(self, now: float) -> dict[str, str]:
        scope = self.ctx.globals
        loads = scope.peek("loads") or {}
        return entity_states(
            self.ctx.settings,
            now,
            override=scope.peek("override"),
            reserve_soc=scope.peek(RESERVE_KEY),
            load_states={
                name: load.get("on") if isinstance(load, Mapping) else None
                for name, load in loads.items()
            },
            target_choice=scope.peek(target.CHOSEN_KEY),
            soc_targets=scope.peek(one_off.TARGETS_KEY),
            flexible_choice=scope.peek(flexible.CHOSEN_KEY),
            flexible_targets=scope.peek(flexible_one_off.TARGETS_KEY),
        )

    # -- what Home Assistant sends --

    def _target(self, command: SetTargetSoc | SetTargetBy | SetTargetHard | SwitchTarget) -> None:
        """A SOC target control changed: keep the choice; set the target it makes when the
        switch is turned on (or is on and the choice changed), cancel it when turned off.
        The plan flow re-plans on the change of global.soc_targets."""
        scope, settings = self.ctx.globals, self.ctx.settings
        now = self.ctx.clock.time()
        ha = HomeAssistantSettings.from_settings(settings)
        choice = target.chosen(
            scope.peek(target.CHOSEN_KEY), ha.reserve_min_pct, ha.reserve_max_pct
        )
        if isinstance(command, SetTargetSoc):
            choice["soc"] = command.soc
        elif isinstance(command, SetTargetBy):
            choice["by"] = command.by
        elif isinstance(command, SetTargetHard):
            choice["hard"] = command.hard
        scope.set(target.CHOSEN_KEY, choice)
        if isinstance(command, SwitchTarget) and not command.on:
            one_off.clear_from(scope, target.SOURCE, now)
            return
        if isinstance(command, SwitchTarget) or target.is_on(scope.peek(one_off.TARGETS_KEY), now):
            zone = site_zone(str((settings.get("site") or {}).get("timezone") or "UTC"))
            one_off.replace_from(
                scope, now, settings, target.request(choice, now, zone), target.SOURCE
            )

    def _flexible(self, command: FlexibleCommand) -> None:
        """A flexible load's target control changed: as ``_target`` does for the SOC
        target, keep the choice; set the load's one-off target it makes when the switch
        is turned on (or is on and the choice changed), cancel HA's when turned off. The
        plan and flexible flows follow global.flexible_targets."""
        scope, settings = self.ctx.globals, self.ctx.settings
        now = self.ctx.clock.time()
        load_id = command.load
        config = next(c for c in flexible.configs(settings) if c.id == load_id)
        kept = scope.peek(flexible.CHOSEN_KEY)
        choices = dict(kept) if isinstance(kept, Mapping) else {}
        choice = flexible.chosen(choices.get(load_id), config)
        if isinstance(command, SetFlexibleTarget):
            if command.soc is not None:
                choice["soc"] = command.soc
            if command.energy_kwh is not None:
                choice["energy_kwh"] = command.energy_kwh
        elif isinstance(command, SetFlexibleBy):
            choice["by"] = command.by
        choices[load_id] = choice
        scope.set(flexible.CHOSEN_KEY, choices)
        targets = scope.peek(flexible_one_off.TARGETS_KEY)
        on = flexible.is_on(targets, load_id, now)
        if isinstance(command, SwitchFlexibleTarget) and not command.on:
            if on:
                flexible_one_off.cancel_target(scope, load_id, now)
            return
        if isinstance(command, SwitchFlexibleTarget) or on:
            flexible_one_off.set_target(
                scope, now, settings, load_id, flexible.request(choice), flexible.SOURCE
            )

    async def _ha_status(self, topic: str, payload: bytes) -> None:
        if payload.strip().lower() != b"online":
            return
        if self._answer is not None and not self._answer.done():
            return  # the answer waiting for the gap's end answers this birth too
        gap_ends = self._answered_at + ANSWER_GAP_S
        if self.ctx.clock.time() < gap_ends:
            self._answer = asyncio.current_task()
            try:
                await self.ctx.clock.sleep_until(gap_ends)
            finally:
                self._answer = None  # a birth from now on is after the announcement below
        self._answered_at = self.ctx.clock.time()
        log.info("Home Assistant is back: announcing again")
        await self._announce()

    async def _command(self, topic: str, payload: bytes, retained: bool) -> None:
        settings, scope, clock = self.ctx.settings, self.ctx.globals, self.ctx.clock
        try:
            command = parse_command(settings, topic, payload, retained=retained)
            if isinstance(command, ClearOverride):
                clear_override(_GlobalStore(scope))  # type: ignore[arg-type]
            elif isinstance(command, SetOverride):
                set_or_plan_override(
                    scope,
                    clock.time(),
                    settings,
                    command.mode,
                    command.power_w,
                    duration=command.duration_s,
                    until=command.until,
                    start=command.start,
                    source="mqtt",
                    reason=command.reason or "from Home Assistant",
                )
            elif isinstance(command, SetTargetSoc | SetTargetBy | SetTargetHard | SwitchTarget):
                self._target(command)
            elif isinstance(command, SetFlexibleTarget | SetFlexibleBy | SwitchFlexibleTarget):
                self._flexible(command)
            elif isinstance(command, SetReserveSoc):
                scope.set(RESERVE_KEY, command.soc)
            elif isinstance(command, SwitchLoad):
                set_load_command(
                    scope,
                    clock,
                    command.load,
                    "on" if command.on else "off",
                    None,
                    "mqtt",
                    settings,
                )
            self.ctx.status(f"command: {command.kind}")
        except (
            CommandError,
            InvalidOverride,
            InvalidLoadCommand,
            InvalidTarget,
            InvalidFlexibleTarget,
            InvalidFlexibleLoads,
        ) as exc:
            log.warning("Home Assistant %s (not acted on)", exc)
            self.ctx.status(str(exc)[:120], "warn")
        self.published = {}  # HA's control shows what holds now, refused or not
        await self._publish_state()
