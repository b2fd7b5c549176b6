"""The planner node: forecast in, 48 h battery plan out.

It takes the site's battery, grid and planner settings from the site config,
the state of charge from the latest telemetry in context, and the previous
plan's modes (so near-equal alternatives do not flip on every re-plan). The
solve runs in a worker thread, so a slow solve never stalls other flows. A
failed solve raises, the run fails, and the previous plan stays in force.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any, ClassVar

from flowengine.message import Message
from flowengine.node import Node
from nodes.planning.inputs import BatterySpec, GridSpec, PlanInputs, PlanOptions
from nodes.planning.model import PlanError, solve_plan

__all__ = ["PlanError", "Planner"]


class Planner(Node):
    type_name = "planning.plan"
    description = "Solves the battery plan (MILP over the forecast horizon) for the lowest bill."
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "soc_key": {"type": "string", "description": "global context key of telemetry"},
            "previous_key": {"type": "string", "description": "global key of the plan in force"},
            "switch_penalty": {
                "type": "number",
                "minimum": 0,
                "description": "$ a mode change must save to replace the plan",
            },
            "solver": {"enum": ["highs", "highs-pulp", "cbc"]},
        },
        "additionalProperties": False,
    }
    takes = "payload {start, slot_seconds, import_price[], export_price[], pv_w[], load_w[]}"
    gives: ClassVar[dict[str, str]] = {"out": "payload = the plan (slots with mode, power, SOC)"}

    async def process(self, msg: Message) -> Message:
        forecast = msg.payload
        inputs = self._inputs(forecast)
        plan = await asyncio.to_thread(solve_plan, inputs)
        result = plan.to_dict()
        result["built_from"] = {
            "issued_at": forecast.get("issued_at"),
            "soc": inputs.soc_now,
            "slots": inputs.n_slots,
        }
        self.ctx.status(
            f"{len(plan.slots)} slots, ${plan.total_cost:.2f}, "
            f"{plan.build_ms + plan.solve_ms:.0f} ms"
        )
        msg.payload = result
        return msg

    def _inputs(self, forecast: dict[str, Any]) -> PlanInputs:
        settings = self.ctx.settings
        battery = settings["battery"]
        grid = settings["grid"]
        planner = settings.get("planner", {})
        step = forecast["slot_seconds"]
        starts = [
            datetime.fromtimestamp(forecast["start"] + i * step, UTC)
            for i in range(len(forecast["import_price"]))
        ]
        telemetry = self.ctx.globals.get(self.config.get("soc_key", "telemetry")) or {}
        soc = float(telemetry.get("soc", settings.get("simulator", {}).get("soc_initial", 0.5)))
        soc = min(1.0, max(0.0, soc))
        options = PlanOptions(
            cycle_cost_per_kwh=planner.get("cycle_cost_per_kwh", 0.0),
            break_even_delta=planner.get("break_even_delta", 0.0),
            allow_grid_charge=planner.get("allow_grid_charge", True),
            arbitrage_export=planner.get("arbitrage_export", True),
            incumbent_modes=self._incumbent(starts),
            switch_penalty=self.config.get("switch_penalty", 0.05),
            solver=self.config.get("solver", "highs"),
            display_tz=settings.get("site", {}).get("timezone", "UTC"),
        )
        return PlanInputs(
            slot_starts=starts,
            import_price=forecast["import_price"],
            export_price=forecast["export_price"],
            pv_w=forecast["pv_w"],
            load_w=forecast["load_w"],
            soc_now=soc,
            battery=BatterySpec(
                capacity_kwh=battery["capacity_kwh"],
                max_charge_w=battery["max_charge_w"],
                max_discharge_w=battery["max_discharge_w"],
                charge_efficiency=battery["charge_efficiency"],
                discharge_efficiency=battery["discharge_efficiency"],
                soc_min=battery["soc_min"],
                soc_max=battery["soc_max"],
            ),
            grid=GridSpec(grid["max_import_w"], grid["max_export_w"]),
            options=options,
            slot_hours=step / 3600,
        )

    def _incumbent(self, starts: list[datetime]) -> list[Any] | None:
        previous = self.ctx.globals.get(self.config.get("previous_key", "plan"))
        if not previous:
            return None
        modes = {slot["start"]: slot["mode"] for slot in previous.get("slots", [])}
        return [modes.get(start.isoformat()) for start in starts]
