"""Health: is control sound (ok, degraded, safety), and why."""

from flowengine.registry import Declared
from nodes.health import site
from nodes.health.node import HealthCheck

NODE_TYPES: list[Declared] = [HealthCheck, site.SECTION]
