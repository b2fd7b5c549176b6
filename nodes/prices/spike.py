"""Price spikes: re-plan at once and tell people when the price now spikes, and when it ends.

Works on any prices reading (docs/inputs.md), whatever its provider: the slot
that holds the present moment spikes when its provider flags it (``spike``, or
``potential`` if asked), its descriptor says ``spike``, or its import price
reaches the threshold. Each spiking slot is reported once (a re-plan and a
warning); what was reported is kept in the flow's context, which survives a
restart, so a restart mid-spike does not report the same slot again. A re-plan
the plan flow drops because it is busy is asked for again on the next reading.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flowengine.message import Message
from flowengine.node import Node

DEFAULT_THRESHOLD = 1.00  # $/kWh


class PriceSpike(Node):
    type_name = "prices.spike"
    description = (
        "Watches the price now: on a new spike starts the plan flow and sends a warning; "
        "says when the spike is over."
    )
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "threshold": {
                "default": DEFAULT_THRESHOLD,
                "type": "number",
                "description": "$/kWh: an import price at or above this is a spike",
            },
            "potential": {
                "default": False,
                "type": "boolean",
                "description": "count a 'potential' spike flag as a spike",
            },
            "plan_flow": {
                "default": "plan",
                "type": "string",
                "description": "the flow to start on a new spike ('' for none)",
            },
        },
        "additionalProperties": False,
    }
    takes = "payload = a prices reading {kind, provider, issued_at, fetched_at, data}, or None"
    gives: ClassVar[dict[str, str]] = {
        "out": "payload {spike, status, price, interval_start, reason, new, ended}: status is "
        "the provider's spike flag for now (none|potential|spike, unknown when no price covers "
        "now); new: this slot's spike is reported now; ended: a spike just ended",
    }

    @property
    def _state_key(self) -> str:
        return f"price_spike.{self.ctx.node_id}"

    def process(self, msg: Message) -> Message:
        now = self.ctx.clock.time()
        reading = msg.payload
        current = current_interval(reading, now)
        if current is None:
            self.ctx.status("no price covers now", "warn")
            msg.payload = _result(False, "unknown", None, None, "no price covers now")
            return msg
        start, price = current["start"], current.get("import_price")
        before = self.ctx.flow.get(self._state_key) or {}
        reasons = self.reasons(current)
        spike = bool(reasons)
        new = spike and before.get("reported") != start
        ended = not spike and bool(before.get("active"))
        reason = self._describe(current, reasons, reading) if spike else ""
        planned, plan_run = before.get("planned"), None
        if spike and planned != start:  # a re-plan its flow dropped (busy) is asked again
            plan_run, done = self._replan(reason)
            planned = start if done else planned
        self.ctx.flow.set(
            self._state_key,
            {
                "active": spike,
                "reported": start if spike else before.get("reported"),
                "planned": planned,
            },
        )
        if new:
            self._report(current, reason, reasons, reading, plan_run)
        elif ended:
            self._report_end(current)
        if spike:
            self.ctx.status(f"spike: {_money(price)}/kWh", "warn")
        else:
            self.ctx.status(f"no spike: {_money(price)}/kWh")
        msg.payload = _result(
            spike, str(current.get("spike") or "none"), price, start, reason, new, ended
        )
        return msg

    def reasons(self, interval: Mapping[str, Any]) -> list[str]:
        """Why ``interval`` is a spike, in words (empty: it is not)."""
        found = []
        flag = interval.get("spike")
        if flag == "spike" or (flag == "potential" and self.config["potential"]):
            found.append(f"flagged {flag}")
        if interval.get("descriptor") == "spike":
            found.append("described as a spike")
        threshold = float(self.config["threshold"])
        price = interval.get("import_price")
        if isinstance(price, int | float) and price >= threshold:
            found.append(f"at or above the {_money(threshold)}/kWh threshold")
        return found

    def _describe(
        self, interval: Mapping[str, Any], reasons: list[str], reading: Mapping[str, Any]
    ) -> str:
        when = f"{self._clock_time(interval['start'])}-{self._clock_time(interval['end'])}"
        source = reading.get("provider") or "prices"
        price = _money(interval.get("import_price"))
        return f"price spike: {price}/kWh {when} ({source}: {', '.join(reasons)})"

    def _replan(self, reason: str) -> tuple[str | None, bool]:
        """Start the plan flow: (its run id, whether this slot needs no more asking)."""
        plan_flow = self.config["plan_flow"]
        if not plan_flow:
            return None, True
        try:
            run_id = self.ctx.trigger_flow(plan_flow, reason=reason)
        except KeyError:
            self.ctx.log.warning("plan_flow %r: no such flow; nothing re-planned", plan_flow)
            return None, True
        if run_id is None:
            self.ctx.log.info("flow %s is busy; asking again on the next price", plan_flow)
        return run_id, run_id is not None

    def _report(
        self,
        interval: Mapping[str, Any],
        reason: str,
        reasons: list[str],
        reading: Mapping[str, Any],
        plan_run: str | None,
    ) -> None:
        data = {
            "interval_start": interval["start"],
            "interval_end": interval["end"],
            "import_price": interval.get("import_price"),
            "export_price": interval.get("export_price"),
            "spike": interval.get("spike"),
            "descriptor": interval.get("descriptor"),
            "provider": reading.get("provider"),
            "reasons": reasons,
            "plan_run": plan_run,
        }
        self.ctx.notify(reason[0].upper() + reason[1:], "warn", data)

    def _report_end(self, interval: Mapping[str, Any]) -> None:
        price = interval.get("import_price")
        when = self._clock_time(interval["start"])
        self.ctx.notify(
            f"Price spike over: {_money(price)}/kWh from {when}",
            "info",
            {"interval_start": interval["start"], "import_price": price},
        )

    def _clock_time(self, at: float) -> str:
        name = (self.ctx.settings.get("site") or {}).get("timezone") or "UTC"
        try:
            zone = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo("UTC")
        return datetime.fromtimestamp(at, zone).strftime("%H:%M")


def current_interval(reading: Any, now: float) -> dict[str, Any] | None:
    """The interval of a prices reading that holds ``now`` (None without a reading)."""
    if reading is None:
        return None
    if not isinstance(reading, Mapping) or not isinstance(reading.get("data"), Mapping):
        raise ValueError(f"prices.spike takes a prices reading, not {type(reading).__name__}")
    for interval in reading["data"].get("intervals") or []:
        if interval["start"] <= now < interval["end"]:
            return dict(interval)
    return None


def _result(
    spike: bool,
    status: str,
    price: float | None,
    interval_start: float | None,
    reason: str,
    new: bool = False,
    ended: bool = False,
) -> dict[str, Any]:
    return {
        "spike": spike,
        "status": status,
        "price": price,
        "interval_start": interval_start,
        "reason": reason,
        "new": new,
        "ended": ended,
    }


def _money(value: Any) -> str:
    return f"${value:.2f}" if isinstance(value, int | float) else "$?"
