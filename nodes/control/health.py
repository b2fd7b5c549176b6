"""The ``control.health`` node: judges the context every run and keeps ``global.health``.

It reads only what other flows keep in the context (telemetry, the Modbus
link, the last decision, the inputs, the plan; the service's clock check), never
the inverter, so it runs in a flow of its own and keeps judging while the
inverter is unreachable. The
control hierarchy reads ``global.health``; the watchdog stops feeding in safety.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from flowengine.message import Message
from flowengine.node import ContextKey, ContextScope, Node, NodeContext
from nodes.foxess.link import LINK_KEY
from nodes.health.checks import Assessment, HealthLimits, Observed, assess
from nodes.inputs.refresh import HEALTH_KEY as INPUT_HEALTH_KEY

HEALTH_KEY = "health"


def observe(scope: ContextScope, now: float, started_at: float, timezone: str = "UTC") -> Observed:
    """What the checks look at, from the global context (``timezone``: the site's)."""
    return Observed(
        now=now,
        started_at=started_at,
        telemetry=scope.peek("telemetry"),  # read only, every minute: no copies
        link=scope.peek(LINK_KEY),
        decision=scope.peek("decision"),
        inputs=scope.peek(INPUT_HEALTH_KEY) or {},
        plan=scope.peek("plan"),
        command_check=scope.peek("command_check"),
        clock_check=scope.peek("clock_check"),
        timezone=timezone,
    )


def health_record(result: Assessment, now: float, previous: Any) -> dict[str, Any]:
    """``global.health``: the state, why, since when (kept while the state holds)."""
    previous = previous if isinstance(previous, dict) else {}
    same = previous.get("state") == result.state and previous.get("since") is not None
    return {
        "state": result.state,
        "reasons": result.reasons,
        "since": previous["since"] if same else now,
        "at": now,
        "checks": result.checks,
    }


def change_text(result: Assessment, previous: Any, now: float) -> str:
    """The line a change of state is told in: why, and on recovery what is over."""
    if result.state != "ok":
        return f"health {result.state}: {'; '.join(result.reasons)}"
    if not isinstance(previous, dict) or previous.get("state") in (None, "ok"):
        return "health ok: every check passes"
    was = "; ".join(str(reason) for reason in previous.get("reasons") or []) or "no reason kept"
    since = previous.get("since")
    lasted = f" for {_minutes(now - float(since))}" if isinstance(since, int | float) else ""
    return f"health ok again, {previous['state']}{lasted} is over ({was})"


def site_timezone(settings: Mapping[str, Any]) -> str:
    """The site's time zone, for the times a reason names (UTC without a site section)."""
    return str((settings.get("site") or {}).get("timezone") or "UTC")


def _minutes(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes / 60:.1f} h"


class HealthCheck(Node):
    type_name = "control.health"
    reads: ClassVar[tuple[ContextKey, ...]] = (
        ContextKey("inverter_link", "the Modbus link"),
        ContextKey("input_health", "each input's age and failures"),
        ContextKey("command_check", "the inverter doing what it was told (control.compare)"),
        ContextKey("clock_check", "the clock behind the newest record (kept by the service)"),
    )
    writes: ClassVar[tuple[ContextKey, ...]] = (
        ContextKey("health", "ok, degraded or safety, and why", "key"),
    )
    description = "Judges whether control is sound (ok, degraded, safety) and records why."
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "key": {
                "default": HEALTH_KEY,
                "type": "string",
                "description": "global key to keep it in",
            }
        },
        "additionalProperties": False,
    }
    takes = "any message (a trigger: run it every minute, in a flow of its own)"
    gives: ClassVar[dict[str, str]] = {
        "out": "payload = global.health {state, reasons[], since, at, checks{...}}"
    }

    def __init__(self, ctx: NodeContext, config: dict[str, Any]) -> None:
        super().__init__(ctx, config)
        self.started_at = ctx.clock.time()

    async def start(self) -> None:
        self.started_at = self.ctx.clock.time()

    def process(self, msg: Message) -> Message:
        now = self.ctx.clock.time()
        key = str(self.config["key"])
        result = assess(
            observe(self.ctx.globals, now, self.started_at, site_timezone(self.ctx.settings)),
            HealthLimits.from_settings(self.ctx.settings),
        )
        previous = self.ctx.globals.get(key)
        record = health_record(result, now, previous)
        if not isinstance(previous, dict) or previous.get("state") != result.state:
            level = "info" if result.state == "ok" else "warn"
            self.ctx.notify(change_text(result, previous, now), level, record)
        self.ctx.globals.set(key, record)
        text = result.state if result.state == "ok" else f"{result.state}: {result.reasons[0]}"
        self.ctx.status(text[:120], {"ok": "ok", "degraded": "warn"}.get(result.state, "error"))
        msg.payload = record
        return msg
