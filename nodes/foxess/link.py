"""How the Modbus link to the inverter is doing, kept where the health check reads it.

The foxess nodes record each exchange's outcome in ``global.inverter_link``
before passing an error on (the run still fails, visibly), so the health
checker, which runs in a flow of its own and never touches Modbus, sees a lost
or misbehaving inverter even while every read fails.
"""

from __future__ import annotations

from typing import Any

from flowengine.node import ContextScope

LINK_KEY = "inverter_link"


def record_ok(scope: ContextScope, now: float) -> None:
    """A good exchange: the error streak ends (the last error stays, for the record)."""
    link: dict[str, Any] = scope.get(LINK_KEY) or {}
    scope.set(LINK_KEY, {**link, "ok_at": now, "consecutive_errors": 0})


def record_error(scope: ContextScope, now: float, error: str) -> None:
    """A failed exchange: one more in the streak."""
    link: dict[str, Any] = scope.get(LINK_KEY) or {}
    streak = int(link.get("consecutive_errors") or 0) + 1
    scope.set(
        LINK_KEY, {**link, "error_at": now, "error": error, "consecutive_errors": streak}
    )
