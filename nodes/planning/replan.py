"""When to re-plan before the next periodic plan is due.

A plan is rebuilt when what it was built on no longer holds: prices or
forecasts moved its cost by more than a threshold, the battery's SOC drifted
from the plan's path, or the price spiked where the plan did not expect it.
The check is cheap (no solve): it re-costs the plan in force under the new
forecast. A plan younger than the cool-down is never rebuilt, so one noisy
input cannot make the planner run every tick.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from flowengine.durations import parse_duration
from flowengine.message import Message
from flowengine.node import ContextKey, Node
from flowengine.schema import DURATION


def slot_starts(plan: dict[str, Any]) -> list[float]:
    """Each slot's start as a timestamp (the checks below run every tick: parse once)."""
    return [datetime.fromisoformat(slot["start"]).timestamp() for slot in plan.get("slots", [])]


def expected_soc(
    plan: dict[str, Any], now: float, starts: list[float] | None = None
) -> float | None:
    """The plan's SOC at ``now``, interpolated inside the slot."""
    previous: float | None = plan.get("built_from", {}).get("soc")
    starts = slot_starts(plan) if starts is None else starts
    for slot, start in zip(plan.get("slots", []), starts, strict=True):
        if start <= now < start + 1800:
            if previous is None:
                return float(slot["soc_end"])
            share = (now - start) / 1800
            return previous + (float(slot["soc_end"]) - previous) * share
        previous = float(slot["soc_end"])
    return None


def cost_shift(
    plan: dict[str, Any], forecast: dict[str, Any], starts: list[float] | None = None
) -> float:
    """How much the plan's own cost moves under the new forecast ($, absolute).

    Price moves are valued on the plan's grid flows; PV and load moves on the
    import price of their slot (the energy must come from somewhere).
    """
    step = forecast["slot_seconds"]
    index = {forecast["start"] + i * step: i for i in range(len(forecast["import_price"]))}
    shift = 0.0
    starts = slot_starts(plan) if starts is None else starts
    for slot, start in zip(plan.get("slots", []), starts, strict=True):
        i = index.get(start)
        if i is None:
            continue
        hours = step / 3600
        imported = slot["grid_import_w"] * hours / 1000
        exported = slot["grid_export_w"] * hours / 1000
        shift += imported * (forecast["import_price"][i] - slot["import_price"])
        shift -= exported * (forecast["export_price"][i] - slot["export_price"])
        for key, planned_key in (("pv_w", "pv_w"), ("load_w", "load_w")):
            values = forecast.get(key)
            if values is not None and planned_key in slot:
                moved = abs(values[i] - slot[planned_key]) * hours / 1000
                shift += moved * abs(forecast["import_price"][i]) * 0.5
    return abs(shift)


class ReplanCheck(Node):
    type_name = "planning.replan_check"
    reads: ClassVar[tuple[ContextKey, ...]] = (
        ContextKey("plan", "the plan in force"),
        ContextKey("telemetry", "the inverter's reading"),
    )
    description = "Starts the plan flow early when prices, forecasts or the SOC left the plan."
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "plan_flow": {
                "default": "plan",
                "type": "string",
                "description": "the flow that builds the plan",
            },
            "cost_threshold": {
                "default": 0.25,
                "type": "number",
                "minimum": 0,
                "description": "$ the plan's cost may move before re-planning",
            },
            "soc_drift": {
                "default": 0.05,
                "type": "number",
                "minimum": 0,
                "maximum": 1,
                "description": "SOC fraction the battery may stray from the plan",
            },
            "spike_price": {
                "default": 1.0,
                "type": "number",
                "description": "$/kWh import price that counts as a spike",
            },
            "cool_down": {**DURATION, "default": "10m"},
        },
        "additionalProperties": False,
    }
    takes = "payload = the forecast now known (start, slot_seconds, prices, pv_w, load_w)"
    gives: ClassVar[dict[str, str]] = {
        "out": "payload {replan: bool, reason}: the decision (the plan flow is started)"
    }

    #: The plan in force's slot starts, parsed once per plan (keyed by its created_at).
    _starts: tuple[str, list[float]] | None = None

    def process(self, msg: Message) -> Message:
        forecast = msg.payload
        now = self.ctx.clock.time()
        plan = self.ctx.globals.peek("plan")  # read only
        reason = self._reason(plan, forecast, now)
        if reason:
            self.ctx.trigger_flow(self.config["plan_flow"], reason=reason)
            self.ctx.status(reason, "busy")
        else:
            self.ctx.status("plan holds")
        msg.payload = {"replan": bool(reason), "reason": reason}
        return msg

    def _reason(self, plan: dict[str, Any] | None, forecast: dict[str, Any], now: float) -> str:
        if not plan or not plan.get("slots"):
            return "no plan"
        created = datetime.fromisoformat(plan["created_at"]).timestamp()
        if now - created < parse_duration(self.config["cool_down"]):
            return ""
        if self._starts is None or self._starts[0] != plan["created_at"]:
            self._starts = (plan["created_at"], slot_starts(plan))
        starts = self._starts[1]
        spike = self.config["spike_price"]
        price_now = forecast["import_price"][0]
        planned_now = _planned_price(plan, forecast["start"], starts)
        if price_now >= spike and (planned_now is None or planned_now < spike):
            return f"price spike: {price_now * 100:.0f}c/kWh not in the plan"
        telemetry = self.ctx.globals.peek("telemetry") or {}
        soc, expected = telemetry.get("soc"), expected_soc(plan, now, starts)
        drift = self.config["soc_drift"]
        if soc is not None and expected is not None and abs(soc - expected) > drift:
            return f"SOC {soc:.0%} strayed from the plan's {expected:.0%}"
        shift = cost_shift(plan, forecast, starts)
        if shift > self.config["cost_threshold"]:
            return f"forecast moved the plan's cost by ${shift:.2f}"
        return ""


def _planned_price(plan: dict[str, Any], slot_start: float, starts: list[float]) -> float | None:
    for slot, start in zip(plan.get("slots", []), starts, strict=True):
        if start == slot_start:
            return float(slot["import_price"])
    return None
