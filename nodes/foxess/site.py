"""The ``inverter`` section of site.yaml, owned by this package:
how the Fox ESS KH is reached over Modbus and what it falls back to.
"""

from __future__ import annotations

from typing import Any

from flowengine.settings import SiteSection, object_section

FRACTION = {"type": "number", "minimum": 0, "maximum": 1}
WATTS = {"type": "number", "minimum": 0}
POSITIVE = {"type": "number", "exclusiveMinimum": 0}
PRICE = {"type": "number", "description": "$/kWh"}

TRANSPORT: dict[str, Any] = {
    "enum": ["tcp", "rtu_over_tcp", "udp", "serial"],
    "description": "how Modbus reaches the KH's RS485 port: tcp (a Modbus TCP gateway), "
    "rtu_over_tcp (RTU frames over TCP: a transparent gateway such as the USR-TCP232-304), "
    "udp (Modbus UDP), serial (an RS485 adapter on this machine: see serial)",
}
SERIAL: dict[str, Any] = {
    "type": "object",
    "description": "the RS485 line when transport is serial (host and port are then unused)",
    "properties": {
        "port": {"type": "string", "description": "the device, e.g. /dev/ttyUSB0"},
        "baudrate": {"type": "integer", "minimum": 1200, "default": 9600},
        "bytesize": {"enum": [7, 8], "default": 8},
        "parity": {"enum": ["N", "E", "O"], "default": "N"},
        "stopbits": {"enum": [1, 2], "default": 1},
    },
    "required": ["port"],
    "additionalProperties": False,
}
MAX_READ_REGISTERS: dict[str, Any] = {
    "type": "integer",
    "minimum": 8,
    "maximum": 125,
    "description": "registers per read request; default per transport as foxess_modbus "
    "gives a gateway it does not know: 8 over tcp, rtu_over_tcp and udp, 20 over serial "
    "(most gateways take 100; the USR-W610 only 8)",
}
#: A serial transport without its line is refused where it is written.
SERIAL_NEEDS_LINE: dict[str, Any] = {
    "if": {"properties": {"transport": {"const": "serial"}}, "required": ["transport"]},
    "then": {"required": ["serial"]},
}


SCHEMA: dict[str, Any] = object_section(
    {
        "transport": TRANSPORT,
        "host": {"type": "string"},
        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
        "serial": SERIAL,
        "unit_id": {"type": "integer", "minimum": 1, "maximum": 247},
        "firmware": {"enum": ["kh133", "pre133"]},
        "register_function": {"enum": ["holding", "input"]},
        "watchdog_s": {"type": "integer", "minimum": 10, "maximum": 600},
        "timeout_s": POSITIVE,
        "max_read_registers": MAX_READ_REGISTERS,
        "max_temp_c": {"type": "number"},
        "charge_current_a": {
            "type": "number",
            "minimum": 0,
            "maximum": 100,
            "description": "41007's normal max charge current (A), put back after a plan "
            "has lowered it to curtail PV (unset: what it held before)",
        },
        "fallback_mode": {
            "enum": ["self_use", "feed_in_first", "back_up"],
            "description": "work mode (41000) the inverter runs when remote control ends",
        },
    }
)
SCHEMA.update(SERIAL_NEEDS_LINE)

DEFAULTS: dict[str, Any] = {
    "transport": "tcp",
    "host": "127.0.0.1",
    "port": 502,  # Modbus TCP's; the demo's site.yaml names the simulator's 5020
    "unit_id": 247,
    "firmware": "kh133",
    "register_function": "holding",
    "watchdog_s": 60,
    "timeout_s": 3.0,
    "max_temp_c": 70,
    "fallback_mode": "self_use",
}

SECTION = SiteSection("inverter", SCHEMA, DEFAULTS, owner=__name__)
