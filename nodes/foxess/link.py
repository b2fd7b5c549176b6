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


#: While the link is sound, ``ok_at`` is brought up to date at most this often: every
#: exchange would otherwise be a database write (an SD card's wear, a backtest's time).
OK_REFRESH_S = 300.0


def record_ok(scope: ContextScope, now: float) -> None:
    """A good exchange: the error streak ends (the last error stays, for the record)."""
    seen: Any = scope.peek(LINK_KEY)
    if (
        isinstance(seen, dict)
        and not seen.get("consecutive_errors")
        and now - float(seen.get("ok_at") or 0.0) < OK_REFRESH_S
    ):
        return
    link: dict[str, Any] = dict(seen) if isinstance(seen, dict) else {}
    scope.set(LINK_KEY, {**link, "ok_at": now, "consecutive_errors": 0})


def record_error(scope: ContextScope, now: float, error: str) -> None:
    """A failed exchange: one more in the streak."""
    link: dict[str, Any] = scope.get(LINK_KEY) or {}
    streak = int(link.get("consecutive_errors") or 0) + 1
    scope.set(LINK_KEY, {**link, "error_at": now, "error": error, "consecutive_errors": streak})
