"""Fox ESS KH hybrid inverter over Modbus: TCP, RTU over TCP, UDP or serial."""

from flowengine.registry import Declared
from nodes.foxess import site
from nodes.foxess.connection import FoxModbusConnection
from nodes.foxess.inverter import FoxCommand, FoxRead, FoxWatchdog

CONNECTION_TYPES = [FoxModbusConnection]
NODE_TYPES: list[Declared] = [FoxRead, FoxCommand, FoxWatchdog, *CONNECTION_TYPES, site.SECTION]
