"""Control: decide each tick what the inverter should do, safely."""

from nodes.control.hierarchy import Hierarchy
from nodes.control.manual import OverrideNode

NODE_TYPES = [Hierarchy, OverrideNode]
