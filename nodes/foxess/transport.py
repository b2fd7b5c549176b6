"""How the client reaches the KH's RS485 port: the transport and its framing.

The KH has no LAN port (protocols.md §1.1): Modbus comes off its RS485
terminals, through a gateway or an adapter on this machine. Gateways speak
Modbus TCP (``tcp``), Modbus RTU frames carried over a TCP socket
(``rtu_over_tcp``: transparent gateways such as the USR-TCP232-304) or Modbus
over UDP (``udp``); a USB adapter is a serial line (``serial``, RTU framing,
the KH's 9600 8N1 unless the inverter's menu says otherwise).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pymodbus.client import (
    AsyncModbusSerialClient,
    AsyncModbusTcpClient,
    AsyncModbusUdpClient,
    ModbusBaseClient,
)
from pymodbus.framer import FramerType


class Transport(StrEnum):
    TCP = "tcp"
    RTU_OVER_TCP = "rtu_over_tcp"
    UDP = "udp"
    SERIAL = "serial"


#: Registers per read request when the config names no ``max_read_registers``: what
#: foxess_modbus gives an adapter it has no entry for (inverter_adapters.py:
#: "network_other" 8 over TCP, UDP or RTU over TCP, "serial_other" 20). The gateways it
#: knows take 100 (Elfin EW11, USR-TCP232-304/-410s, Waveshare RS485-to-ETH (B) and
#: USB-to-RS485 (B), DSD TECH SH-U10); the USR-W610 only 8.
MAX_READ_REGISTERS: dict[Transport, int] = {
    Transport.TCP: 8,
    Transport.RTU_OVER_TCP: 8,
    Transport.UDP: 8,
    Transport.SERIAL: 20,
}


@dataclass(frozen=True, slots=True)
class SerialLine:
    """An RS485 adapter on this machine; the KH's defaults are 9600 baud, 8N1."""

    port: str
    baudrate: int = 9600
    bytesize: int = 8
    parity: str = "N"
    stopbits: int = 1

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> SerialLine | None:
        if not config:
            return None
        return cls(
            port=str(config["port"]),
            baudrate=int(config.get("baudrate", 9600)),
            bytesize=int(config.get("bytesize", 8)),
            parity=str(config.get("parity", "N")),
            stopbits=int(config.get("stopbits", 1)),
        )


@dataclass(frozen=True, slots=True)
class Route:
    """Where the KH is and how requests get there."""

    transport: Transport = Transport.TCP
    host: str = "127.0.0.1"
    port: int = 502
    serial: SerialLine | None = None

    def __post_init__(self) -> None:
        if self.transport is Transport.SERIAL:
            if self.serial is None:
                raise ValueError("transport serial needs inverter.serial.port (e.g. /dev/ttyUSB0)")
            if importlib.util.find_spec("serial") is None:
                raise ValueError(
                    "transport serial needs pyserial: pip install 'power-master[serial]'"
                )

    @property
    def default_max_read(self) -> int:
        return MAX_READ_REGISTERS[self.transport]

    def __str__(self) -> str:
        if self.transport is Transport.SERIAL:
            assert self.serial is not None
            return f"serial {self.serial.port}"
        return f"{self.transport} {self.host}:{self.port}"


def modbus_client(route: Route, timeout_s: float) -> ModbusBaseClient:
    """A pymodbus client for ``route`` that neither retries nor reconnects by itself: the
    caller counts failures and backs off on its own clock."""
    quiet: dict[str, Any] = {"timeout": timeout_s, "retries": 0, "reconnect_delay": 0}
    if route.transport is Transport.SERIAL:
        line = route.serial
        assert line is not None  # Route checks
        return AsyncModbusSerialClient(
            line.port,
            framer=FramerType.RTU,
            baudrate=line.baudrate,
            bytesize=line.bytesize,
            parity=line.parity,
            stopbits=line.stopbits,
            **quiet,
        )
    if route.transport is Transport.UDP:
        return AsyncModbusUdpClient(route.host, port=route.port, **quiet)
    framer = FramerType.RTU if route.transport is Transport.RTU_OVER_TCP else FramerType.SOCKET
    return AsyncModbusTcpClient(route.host, port=route.port, framer=framer, **quiet)


def silence_hint(route: Route, unit_id: int) -> str:
    """What usually makes a KH say nothing on a link that opened: named in the error,
    since pymodbus's own ("No response received") points nowhere."""
    if route.transport is Transport.SERIAL:
        return (
            f"nothing has answered on {route} yet: check the RS485 wiring (A and B swapped?), "
            f"the line settings (the KH's are 9600 8N1) and inverter.unit_id ({unit_id})"
        )
    other = "rtu_over_tcp" if route.transport is not Transport.RTU_OVER_TCP else "tcp"
    return (
        f"nothing has answered on {route} yet: the gateway may frame Modbus differently "
        f"(inverter.transport is {route.transport}; try {other}: transparent gateways such "
        f"as the USR-TCP232-304 pass RTU frames), inverter.unit_id ({unit_id}) may not be "
        "the KH's, or the gateway's serial side is not 9600 8N1"
    )
