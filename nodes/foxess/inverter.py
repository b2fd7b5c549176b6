"""Flow nodes for a Fox ESS KH: read telemetry, command a mode, feed the watchdog.

They hold no state of their own; the shared ``foxess.modbus`` connection does.
Every exchange's outcome goes into ``global.inverter_link`` (for the health
check) first; failures then raise ``InverterError`` so the engine routes them
to the error port.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable
from typing import Any, ClassVar, TypeVar

from flowengine.durations import parse_duration
from flowengine.message import Message
from flowengine.node import ContextKey, Node
from flowengine.schema import DURATION
from nodes.foxess.client import MODES, InverterError
from nodes.foxess.connection import FoxModbusConnection
from nodes.foxess.link import record_error, record_ok

T = TypeVar("T")

#: Refreshes that fail or disagree in a row before the keeper stops feeding: one is a
#: hiccup (a timeout, a lagging readback) the next, a third of the watchdog later, mends.
BAD_REFRESHES_TO_STOP = 2

CONNECTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"connection": {"type": "string", "x-connection": "foxess.modbus"}},
    "required": ["connection"],
    "additionalProperties": False,
}


class _FoxNode(Node):
    config_schema: ClassVar[dict[str, Any]] = CONNECTION_SCHEMA

    @property
    def connection(self) -> FoxModbusConnection:
        conn = self.ctx.connection(self.config["connection"])
        if not isinstance(conn, FoxModbusConnection):
            raise InverterError(f"connection {self.config['connection']!r} is not foxess.modbus")
        return conn

    async def exchange(self, call: Awaitable[T], *, ends_streak: bool = True) -> T:
        """Await one exchange with the inverter, recording how the link did.

        Only the control path's exchanges (a read, a command) end an error streak:
        a watchdog refresh that gets through says nothing of telemetry that fails.
        """
        try:
            result = await call
        except InverterError as exc:
            record_error(self.ctx.globals, self.ctx.clock.time(), str(exc))
            raise
        if ends_streak:
            record_ok(self.ctx.globals, self.ctx.clock.time())
        return result


_NUMBER = {"type": "number"}
_BATTERY = "null while the BMS is not connected"
#: What a telemetry payload holds (nodes/foxess/client.py's Telemetry.as_dict).
TELEMETRY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "timestamp": {**_NUMBER, "description": "epoch seconds of the poll"},
        "soc": {"type": ["number", "null"], "minimum": 0, "maximum": 1, "description": _BATTERY},
        "soc_pct": {"type": ["number", "null"], "minimum": 0, "maximum": 100},
        "pv_w": _NUMBER,
        "load_w": _NUMBER,
        "battery_w": {"type": ["number", "null"], "description": f"+ charging; {_BATTERY}"},
        "grid_w": {**_NUMBER, "description": "+ importing"},
        "battery_voltage_v": _NUMBER,
        "inverter_temp_c": _NUMBER,
        "ambient_temp_c": _NUMBER,
        "battery_temp_c": {"type": ["number", "null"]},
        "inverter_state": {"type": "integer"},
        "grid_lost": {"type": "boolean"},
        "work_mode": {"type": "integer"},
        "remote_enabled": {"type": "boolean"},
        "remote_setpoint_w": _NUMBER,
        "bms_connected": {
            "type": "boolean",
            "description": "the battery's BMS answers (37002, 31028 before KH 1.33)",
        },
        "battery_energy_kwh": {"type": ["number", "null"]},
        "energy_kwh": {"type": "object", "additionalProperties": _NUMBER},
        "energy_today_kwh": {"type": "object", "additionalProperties": _NUMBER},
    },
    "required": ["timestamp", "soc", "pv_w", "load_w", "battery_w", "grid_w", "grid_lost"],
}


class FoxRead(_FoxNode):
    type_name = "foxess.read"
    writes: ClassVar[tuple[ContextKey, ...]] = (
        ContextKey("inverter_link", "the Modbus link: last ok, last error, errors in a row"),
    )
    description = "Reads the inverter's telemetry (SOC, PV, load, battery, grid, energy)."
    config_schema: ClassVar[dict[str, Any]] = {
        **CONNECTION_SCHEMA,
        "properties": {
            **CONNECTION_SCHEMA["properties"],
            "max_age": {
                "default": 0,
                **DURATION,
                "description": "reuse the connection's last telemetry when it is at most "
                "this old (another flow just read it); 0: always read",
            },
        },
    }
    takes = "any message (a trigger)"
    gives: ClassVar[dict[str, str]] = {
        "out": "payload = telemetry dict: soc 0..1, battery_w + = charging, "
        "grid_w + = importing, energy_kwh totals"
    }
    gives_schema: ClassVar[dict[str, dict[str, Any]]] = {"out": TELEMETRY_SCHEMA}

    async def process(self, msg: Message) -> Message:
        max_age = parse_duration(self.config["max_age"])
        telemetry = await self.exchange(self.connection.read_telemetry(max_age))
        soc = telemetry.soc_pct
        battery = "BMS disconnected" if soc is None else f"SOC {soc:.0f}%"
        self.ctx.status(f"{battery}, grid {telemetry.grid_w:.0f} W")
        msg.payload = telemetry.as_dict()
        return msg


class FoxCommand(_FoxNode):
    type_name = "foxess.command"
    writes: ClassVar[tuple[ContextKey, ...]] = (
        ContextKey("inverter_link", "the Modbus link: last ok, last error, errors in a row"),
    )
    description = "Puts the inverter in a mode (remote control or Self Use) and verifies it."
    takes = (
        f'payload {{"mode": one of {list(MODES)}, "power_w": W >= 0, '
        '"setpoint_w": optional signed AC-port W (+ = output), '
        '"min_soc": optional storm reserve 0..1 for the inverter\'s own floor (41011), '
        '"export_limit_w": optional W >= 0 the export stays under, in every mode, '
        '"charge_limit_w": optional W >= 0 the battery charges at most (41007), '
        "so PV is curtailed while it charges less than it could, "
        '"until": optional epoch seconds a forced mode ends by itself (its watchdog, 44001, '
        "set to end it then and not fed past it)}"
    )
    gives: ClassVar[dict[str, str]] = {
        "out": "payload = command result: written and read-back registers, mismatches"
    }
    gives_schema: ClassVar[dict[str, dict[str, Any]]] = {
        "out": {
            "type": "object",
            "properties": {
                "mode": {"type": "string"},
                "setpoint_w": {"type": ["integer", "null"]},
                "verified": {"type": "boolean"},
                "mismatches": {"type": "array", "items": {"type": "string"}},
                "tolerated": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "readbacks accepted as what real KHs do (clamp, lag, 44000)",
                },
                "failed": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "parts not applied though the mode went out (export limit)",
                },
            },
            "required": ["mode", "verified"],
        }
    }

    async def process(self, msg: Message) -> Message:
        payload = msg.payload if isinstance(msg.payload, dict) else {}
        mode = payload.get("mode")
        if mode not in MODES:
            raise InverterError(f"payload mode must be one of {MODES}, got {mode!r}")
        power = payload.get("power_w", 0)
        if not isinstance(power, int | float) or isinstance(power, bool):
            raise InverterError(f"payload power_w must be a number, got {power!r}")
        setpoint = payload.get("setpoint_w")
        if setpoint is not None and (
            not isinstance(setpoint, int | float) or isinstance(setpoint, bool)
        ):
            raise InverterError(f"payload setpoint_w must be a number, got {setpoint!r}")
        min_soc = payload.get("min_soc")
        if min_soc is not None and not _fraction(min_soc):
            raise InverterError(f"payload min_soc must be a fraction 0..1, got {min_soc!r}")
        limit = payload.get("export_limit_w")
        if limit is not None and not _watts(limit):
            raise InverterError(f"payload export_limit_w must be W >= 0, got {limit!r}")
        charge = payload.get("charge_limit_w")
        if charge is not None and not _watts(charge):
            raise InverterError(f"payload charge_limit_w must be W >= 0, got {charge!r}")
        until = payload.get("until")
        if until is not None and not (
            isinstance(until, int | float) and not isinstance(until, bool) and math.isfinite(until)
        ):
            raise InverterError(f"payload until must be epoch seconds, got {until!r}")
        result = await self.exchange(
            self.connection.command(mode, power, setpoint, min_soc, limit, charge, until)
        )
        state = "ok" if result.verified else "warn"
        tolerated = f" ({len(result.tolerated)} tolerated)" if result.tolerated else ""
        self.ctx.status(f"{result.mode} {result.setpoint_w or 0} W{tolerated}", state)
        msg.payload = result.as_dict()
        return msg


def _fraction(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1


def _watts(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < math.inf


class FoxWatchdog(_FoxNode):
    """Feeds the remote-control watchdog, but only while control is alive.

    One run lasts as long as a forced command is in force: it refreshes the
    watchdog each time a third of its timeout has passed, and stops feeding as
    soon as the control tick's last decision is older than ``hold_for`` or the
    health check says safety. So if the control flow dies or control is no
    longer sound, the inverter's own watchdog hands it back to its fallback
    work mode by itself, instead of a forced mode living on. One bad refresh (a
    timeout, a readback that disagrees) is a hiccup and feeding goes on while
    the decision stands; ``BAD_REFRESHES_TO_STOP`` in a row end the run.
    """

    type_name = "foxess.watchdog"
    reads: ClassVar[tuple[ContextKey, ...]] = (
        ContextKey("decision", "the control tick's decision", "decision_key"),
        ContextKey("health", "control health", "health_key"),
    )
    writes: ClassVar[tuple[ContextKey, ...]] = (ContextKey("inverter_link", "the Modbus link"),)
    description = "Keeps a forced mode's watchdog fed while the control tick is alive."
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            **CONNECTION_SCHEMA["properties"],
            "hold_for": {
                "default": "12m",
                **DURATION,
                "description": "how long a decision stays fresh",
            },
            "decision_key": {
                "default": "decision",
                "type": "string",
                "description": "global key of the decision",
            },
            "health_key": {
                "default": "health",
                "type": "string",
                "description": "global key of the health state",
            },
        },
        "required": ["connection"],
        "additionalProperties": False,
    }
    takes = "any message (start it whenever the command changes; mode restart)"
    gives: ClassVar[dict[str, str]] = {
        "out": 'payload {"refreshes": n, "stopped": why the feeding stopped, '
        '"tolerated": what real-KH readbacks were accepted}'
    }

    async def process(self, msg: Message) -> Message:
        clock = self.ctx.clock
        hold_for = parse_duration(self.config["hold_for"])
        refreshes, bad = 0, 0
        tolerated: list[str] = []
        while True:
            client = self.connection.client
            if not client.remote_active:
                stopped = "no forced mode in force"
                break
            decision = self.ctx.globals.get(self.config["decision_key"]) or {}
            age = clock.time() - float(decision.get("at", 0.0))
            if age > hold_for:
                stopped = f"control silent for {age:.0f}s: watchdog left to expire"
                self.ctx.status(stopped, "warn")
                break
            health = self.ctx.globals.get(self.config["health_key"]) or {}
            if health.get("state") == "safety":
                stopped = "health is safety: watchdog left to expire"
                self.ctx.status(stopped, "warn")
                break
            try:
                result = await self.exchange(self.connection.refresh_watchdog(), ends_streak=False)
            except InverterError as exc:
                bad += 1
                if bad >= BAD_REFRESHES_TO_STOP:
                    raise
                self.ctx.status(f"refresh failed, feeding on: {exc}", "warn")
            else:
                if result is not None:
                    refreshes += 1
                    tolerated += [n for n in result.tolerated if n not in tolerated]
                    bad = 0 if result.verified else bad + 1
                    problem = "; ".join(result.mismatches + result.failed)
                    if bad >= BAD_REFRESHES_TO_STOP:
                        stopped = problem
                        self.ctx.status(stopped, "warn")
                        break
                    if bad:
                        self.ctx.status(f"{problem}: feeding on", "warn")
                    else:
                        self.ctx.status(f"watchdog fed, {result.setpoint_w} W")
            await clock.sleep(max(1.0, client.watchdog_s / 3))
        msg.payload = {"refreshes": refreshes, "stopped": stopped, "tolerated": tolerated}
        return msg
