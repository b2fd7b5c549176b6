"""Control: decide each tick what the inverter should do, safely."""

from nodes.control.hierarchy import Hierarchy

NODE_TYPES = [Hierarchy]
