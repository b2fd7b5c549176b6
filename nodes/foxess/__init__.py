"""Fox ESS KH hybrid inverter over Modbus TCP."""

from nodes.foxess.connection import FoxModbusConnection
from nodes.foxess.nodes import FoxCommand, FoxRead, FoxWatchdog

NODE_TYPES = [FoxRead, FoxCommand, FoxWatchdog]
CONNECTION_TYPES = [FoxModbusConnection]
