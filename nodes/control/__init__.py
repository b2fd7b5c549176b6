"""Control: decide each tick what the inverter should do, safely."""

from flowengine.registry import Declared
from nodes.control import site
from nodes.control.compare import Compare
from nodes.control.hierarchy import Hierarchy
from nodes.control.manual import OverrideNode

NODE_TYPES: list[Declared] = [Hierarchy, Compare, OverrideNode, site.SECTION]
