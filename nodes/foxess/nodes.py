"""Flow nodes for a Fox ESS KH: read telemetry, command a mode, feed the watchdog.

They hold no state of their own; the shared ``foxess.modbus`` connection does.
Failures raise ``InverterError`` so the engine routes them to the error port.
"""

from __future__ import annotations

from typing import Any, ClassVar

from flowengine.message import Message
from flowengine.node import Node
from nodes.foxess.client import MODES, InverterError
from nodes.foxess.connection import FoxModbusConnection

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


class FoxRead(_FoxNode):
    type_name = "foxess.read"
    description = "Reads the inverter's telemetry (SOC, PV, load, battery, grid, energy)."
    takes = "any message (a trigger)"
    gives: ClassVar[dict[str, str]] = {
        "out": "payload = telemetry dict: soc 0..1, battery_w + = charging, "
        "grid_w + = importing, energy_kwh totals"
    }

    async def process(self, msg: Message) -> Message:
        telemetry = await self.connection.read_telemetry()
        self.ctx.status(f"SOC {telemetry.soc_pct:.0f}%, grid {telemetry.grid_w:.0f} W")
        msg.payload = telemetry.as_dict()
        return msg


class FoxCommand(_FoxNode):
    type_name = "foxess.command"
    description = "Puts the inverter in a mode (remote control or Self Use) and verifies it."
    takes = (
        f'payload {{"mode": one of {list(MODES)}, "power_w": W >= 0, '
        '"setpoint_w": optional signed AC-port W (+ = output)}}'
    )
    gives: ClassVar[dict[str, str]] = {
        "out": "payload = command result: written and read-back registers, mismatches"
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
        result = await self.connection.command(mode, power, setpoint)
        state = "ok" if result.verified else "warn"
        self.ctx.status(f"{mode} {result.setpoint_w or 0} W", state)
        msg.payload = result.as_dict()
        return msg


class FoxWatchdog(_FoxNode):
    type_name = "foxess.watchdog"
    description = "Re-writes the remote-control timeout and setpoint while remote control is on."
    takes = "any message (a trigger, every <= half the watchdog timeout)"
    gives: ClassVar[dict[str, str]] = {
        "out": 'payload {"refreshed": bool, "result": command result or null}'
    }

    async def process(self, msg: Message) -> Message:
        result = await self.connection.refresh_watchdog()
        if result is not None:
            self.ctx.status(f"watchdog fed, {result.setpoint_w} W")
        msg.payload = {
            "refreshed": result is not None,
            "result": None if result is None else result.as_dict(),
        }
        return msg
