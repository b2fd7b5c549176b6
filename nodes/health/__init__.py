"""Health: is control sound (ok, degraded, safety), and why."""

from nodes.health.node import HealthCheck

NODE_TYPES = [HealthCheck]
