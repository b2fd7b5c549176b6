"""Control: decide each tick what the inverter should do, safely, and judge whether control
is sound (``control.health``, on the checks of ``nodes.health``)."""

from flowengine.registry import Declared
from nodes.control import site
from nodes.control.compare import Compare
from nodes.control.health import HealthCheck
from nodes.control.hierarchy import Hierarchy
from nodes.control.override import OverrideNode
from nodes.health import site as health_site

NODE_TYPES: list[Declared] = [
    Hierarchy,
    Compare,
    OverrideNode,
    HealthCheck,
    site.SECTION,
    health_site.SECTION,
]
