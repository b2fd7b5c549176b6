"""What the UI needs from the running service; any object with these will do.

A Protocol rather than a base class, so the real service, a simulator and the
tests' fake can all be handed to ``create_app`` without importing the UI.
"""

from __future__ import annotations

from typing import Any, Protocol

from flowengine.engine import Engine


class Service(Protocol):
    @property
    def engine(self) -> Engine:
        """The running flow engine."""
        ...

    def health(self) -> dict[str, Any]:
        """At least ``{"status": "ok" | "degraded" | "safety"}``."""
        ...

    def state(self) -> dict[str, Any]:
        """Live plant state (SOC, powers, mode, prices), passed through as JSON."""
        ...
