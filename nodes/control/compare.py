"""The ``control.compare`` node: what was commanded, against what the inverter does.

Wire the inverter's command result into it (it remembers the command in force)
and each tick's telemetry (it judges that against the command): it gives the
``command_check`` record (``nodes.control.deviation`` says what is judged and
how). It keeps the command and its streaks in its flow's context; a command
from before the node started (a restart, a settings edit) is not judged, since
the inverter may have been handed back in between.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar

from flowengine.durations import parse_duration
from flowengine.message import Message
from flowengine.node import ContextKey, Node, NodeContext
from flowengine.schema import DURATION
from nodes.control.deviation import Commanded, Memory, Thresholds, Verdict, compare
from nodes.control.health import HEALTH_KEY
from nodes.foxess.link import LINK_KEY

#: What the record keeps of the telemetry it judged.
ACTUAL = ("work_mode", "remote_enabled", "remote_setpoint_w", "battery_w", "soc")
_WATTS = {"type": "number", "minimum": 0}
_TICKS = {"type": "integer", "minimum": 1}


def is_command_result(payload: Any) -> bool:
    """Whether ``payload`` is what ``foxess.command`` gives (else it is telemetry)."""
    return isinstance(payload, Mapping) and "verified" in payload and "mode" in payload


class Compare(Node):
    type_name = "control.compare"
    reads: ClassVar[tuple[ContextKey, ...]] = (
        ContextKey("decision", "the decision a command carried out", "decision_key"),
        ContextKey("inverter_link", "the Modbus link (failed since the command?)"),
        ContextKey("health", "control health (safety lets the watchdog expire)"),
    )
    description = (
        "Compares what the inverter was commanded with what it does (work mode changed by "
        "someone else, remote control dropped, battery power or SOC going astray) and names "
        "each departure."
    )
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "power_tolerance_w": {
                **_WATTS,
                "default": 500,
                "description": "how far the battery's power may be from what the setpoint makes "
                "of PV and load",
            },
            "power_ticks": {
                **_TICKS,
                "default": 3,
                "description": "ticks in a row the battery's power is off before it is told",
            },
            "soc_ticks": {
                **_TICKS,
                "default": 3,
                "description": "ticks over which SOC moving the wrong way is judged",
            },
            "soc_step": {
                "type": "number",
                "exclusiveMinimum": 0,
                "maximum": 1,
                "default": 0.02,
                "description": "how far SOC must move the wrong way, a fraction",
            },
            "work_mode_calm_ticks": {
                **_TICKS,
                "default": 3,
                "description": "ticks in a row that must find 41000 left alone, after someone "
                "changed it, before the check is ok again",
            },
            "max_age": {
                **DURATION,
                "default": "12m",
                "description": "a command older than this is no longer kept in force (the "
                "watchdog flow's hold_for): not judged",
            },
            "decision_key": {
                "type": "string",
                "default": "decision",
                "description": "global key of the decision",
            },
        },
        "additionalProperties": False,
    }
    takes = (
        "foxess.command's result (remembered as the command in force), or telemetry from "
        "foxess.read (judged against it)"
    )
    gives: ClassVar[dict[str, str]] = {
        "out": "on telemetry read after the command in force (an older read gives nothing: the "
        "last check stands): payload {state: ok|degraded, reasons[], findings[{check, reason, "
        "since}], notes[], commanded, actual, expected_battery_w, at}",
    }
    gives_schema: ClassVar[dict[str, dict[str, Any]]] = {
        "out": {
            "type": "object",
            "properties": {
                "state": {"enum": ["ok", "degraded"]},
                "reasons": {"type": "array", "items": {"type": "string"}},
                "findings": {"type": "array", "items": {"type": "object"}},
            },
            "required": ["state", "reasons", "findings"],
        }
    }

    def __init__(self, ctx: NodeContext, config: dict[str, Any]) -> None:
        super().__init__(ctx, config)
        self.started_at = ctx.clock.time()

    async def start(self) -> None:
        self.started_at = self.ctx.clock.time()

    @property
    def state_key(self) -> str:
        return f"compare.{self.ctx.node_id}"

    def process(self, msg: Message) -> Message | None:
        payload = msg.payload if isinstance(msg.payload, Mapping) else {}
        now = self.ctx.clock.time()
        memory = Memory.from_dict(self.ctx.flow.get(self.state_key))
        if is_command_result(payload):
            decision = self.ctx.globals.peek(self.config["decision_key"])
            taken = decision if isinstance(decision, Mapping) else None
            commanded = Commanded.from_result(payload, now, taken, memory.commanded)
            self.ctx.flow.set(self.state_key, replace(memory, commanded=commanded).as_dict())
            return None
        if memory.commanded is not None and memory.commanded.at < self.started_at:
            memory = Memory()  # commanded before this start: maybe handed back since
        thresholds = Thresholds.from_config(
            {**self.config, "max_age_s": parse_duration(self.config["max_age"])}
        )
        excuse = self._excuse(memory.commanded)
        verdict = compare(now, payload, self.ctx.settings, thresholds, memory, excuse)
        if not verdict.judged:
            return None  # a read from before the command says nothing of it: the last check stands
        self.ctx.flow.set(self.state_key, verdict.memory.as_dict())
        if verdict.degraded:
            self.ctx.status(f"not following: {verdict.findings[0].reason}"[:120], "warn")
        else:
            self.ctx.status("follows" if verdict.memory.commanded else verdict.notes[0])
        msg.payload = check_record(verdict, payload, now)
        return msg

    def _excuse(self, commanded: Commanded | None) -> str | None:
        """Why remote control may have lapsed on our side since ``commanded``."""
        if commanded is None:
            return None
        link = self.ctx.globals.peek(LINK_KEY) or {}
        failed_at = link.get("error_at") if isinstance(link, Mapping) else None
        if isinstance(failed_at, int | float) and failed_at > commanded.at:
            return "the Modbus link failed since the command, so the watchdog went unfed"
        health = self.ctx.globals.peek(HEALTH_KEY) or {}
        if isinstance(health, Mapping) and health.get("state") == "safety":
            return "health is safety, so the watchdog is left to expire"
        return None


def check_record(verdict: Verdict, telemetry: Mapping[str, Any], now: float) -> dict[str, Any]:
    """``global.command_check``: the verdict, the command judged and what was read."""
    commanded = verdict.memory.commanded
    return {
        "state": "degraded" if verdict.degraded else "ok",
        "reasons": [f.reason for f in verdict.findings],
        "findings": [
            {"check": f.check, "reason": f.reason, "since": verdict.memory.since.get(f.check, now)}
            for f in verdict.findings
        ],
        "notes": list(verdict.notes),
        "commanded": None if commanded is None else commanded.as_dict(),
        "actual": {key: telemetry.get(key) for key in ACTUAL},
        "expected_battery_w": verdict.expected_battery_w,
        "at": now,
    }
