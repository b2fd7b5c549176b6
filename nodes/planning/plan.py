"""The planner node: forecast in, 48 h battery plan out.

It takes the site's battery, grid and planner settings (its SOC targets and demand
charges too) from the site config (with a ``connection``, each demand charge's peak so
far this billing cycle from the site database's recorded history too), the state of
charge from the latest telemetry in context, and the previous plan's battery power per
slot (deviating from it costs switch_penalty_per_kwh,
so near-equal alternatives do not flip on every re-plan). The horizon is as
long as the shortest forecast series (prices may not be known 48 h ahead). The
solve runs in a worker thread, so a slow solve never stalls other flows. A
failed solve raises, the run fails, and the previous plan stays in force.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

from flowengine.message import Message
from flowengine.node import ContextKey, Node
from nodes.core.connections import node_database as database
from nodes.core.wallclock import site_zone
from nodes.loads import run_today
from nodes.planning import one_off
from nodes.planning.deferrable import deferrable_loads
from nodes.planning.demand import cycle_peaks, demand_charges
from nodes.planning.held import Held, held_slots
from nodes.planning.inputs import (
    BatterySpec,
    FlexibleLoad,
    GridSpec,
    PlanInputs,
    PlanOptions,
    SolverName,
)
from nodes.planning.model import PlanError, solve_plan
from nodes.planning.placement import Placement, place_all
from nodes.planning.targets import lapsed_problems, soc_targets

__all__ = ["PlanError", "Planner", "plan_inputs"]

#: The forecast's series, one value per slot.
SERIES = ("import_price", "export_price", "pv_w", "load_w")


class Planner(Node):
    type_name = "planning.plan"
    reads: ClassVar[tuple[ContextKey, ...]] = (
        ContextKey("telemetry", "the inverter's reading (SOC)", "soc_key"),
        ContextKey("plan", "the plan in force", "previous_key"),
        ContextKey("storm_reserve", "the storm reserve", "reserve_key"),
        ContextKey("loads", "loads' run time today"),
        ContextKey("soc_targets", "one-off SOC targets (the API, Home Assistant)", "targets_key"),
        ContextKey("override", "the manual override in force", "override_key"),
        ContextKey("planned_overrides", "overrides set ahead", "planned_overrides_key"),
        ContextKey("flexible_loads", "the flexible loads' state (car SOC, plugged in)"),
        ContextKey("flexible_targets", "one-off targets of flexible loads (the API, HA)"),
    )
    description = "Solves the battery plan (MILP over the forecast horizon) for the lowest bill."
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "soc_key": {
                "default": "telemetry",
                "type": "string",
                "description": "global context key of telemetry",
            },
            "previous_key": {
                "default": "plan",
                "type": "string",
                "description": "global key of the plan in force",
            },
            "switch_penalty_per_kwh": {
                "default": 0.001,
                "type": "number",
                "minimum": 0,
                "description": "$ per kWh of battery flow changed from the plan in force",
            },
            "solver": {"default": "highs", "enum": ["highs", "highs-pulp", "cbc"]},
            "reserve_key": {
                "default": "storm_reserve",
                "type": "string",
                "description": "global key of the storm reserve",
            },
            "targets_key": {
                "default": "soc_targets",
                "type": "string",
                "description": "global key of the one-off SOC targets the API and Home "
                "Assistant set (planned for as planner.soc_targets are; those past are not)",
            },
            "override_key": {
                "default": "override",
                "type": "string",
                "description": "global key of the manual override: its slots are held",
            },
            "planned_overrides_key": {
                "default": "planned_overrides",
                "type": "string",
                "description": "global key of the overrides set ahead: their slots are held",
            },
            "hold_schedule": {
                "default": True,
                "type": "boolean",
                "description": "hold the slots control.schedule's weekly rules cover, as the "
                "control tick runs them",
            },
            "connection": {
                "type": "string",
                "x-connection": "core.sqlite",
                "description": "the site database: demand charges' peak so far this billing "
                "cycle from its recorded history (without it: planner config only)",
            },
        },
        "additionalProperties": False,
    }
    takes = "payload {start, slot_seconds, import_price[], export_price[], pv_w[], load_w[]}"
    gives: ClassVar[dict[str, str]] = {
        "out": "payload = the plan (slots with mode, power, SOC; each SOC target, met or short)"
    }

    async def process(self, msg: Message) -> Message:
        forecast = msg.payload
        inputs, held, placed = self._inputs(forecast)
        plan = await asyncio.to_thread(solve_plan, inputs)
        result = plan.to_dict()
        result["flexible"] = _with_needs(result["flexible"], placed)
        result["created_at"] = self.ctx.clock.now().isoformat()  # engine time, not wall time
        for slot, pv, load, holder in zip(
            result["slots"], inputs.pv_w, inputs.load_w, held, strict=True
        ):
            slot["pv_w"], slot["load_w"] = pv, load  # what this slot was planned on
            if holder is not None:  # an override or the schedule: the plan planned around it
                slot["held_by"] = holder.by
                slot["reason"] = f"{holder.by}: {slot['reason']}"
        result["built_from"] = {
            "issued_at": forecast.get("issued_at"),
            "soc": inputs.soc_now,
            "slots": inputs.n_slots,
            "trigger": msg.meta.get("trigger"),
            "load_source": forecast.get("load_source", "given"),
        }
        lapsed = self._lapsed()
        if lapsed:
            result["config_problems"] = lapsed
        short = sum(1 for target in plan.targets if not target.met)
        self.ctx.status(
            f"{len(plan.slots)} slots, ${plan.total_cost:.2f}, "
            f"{plan.build_ms + plan.solve_ms:.0f} ms"
            + (f", {short} SOC target{'s' if short > 1 else ''} short" if short else "")
            + (f"; {lapsed[0]}" if lapsed else ""),
            "warn" if lapsed else "ok",
        )
        msg.payload = result
        return msg

    def _inputs(
        self, forecast: dict[str, Any]
    ) -> tuple[PlanInputs, list[Held | None], list[Placement]]:
        """What the solver is given, what holds each slot (an override, the schedule), and
        what each flexible load needs by when."""
        settings = self.ctx.settings
        step = forecast["slot_seconds"]
        starts = slot_starts(forecast)
        telemetry = self.ctx.globals.get(self.config["soc_key"]) or {}
        soc = _soc(
            telemetry,
            settings["battery"]["capacity_kwh"],
            settings.get("simulator", {}).get("soc_initial", 0.5),
        )
        now = self.ctx.clock.time()
        n = len(starts)
        held = held_slots(
            settings,
            [start.timestamp() for start in starts],
            step,
            forecast["pv_w"][:n],
            forecast["load_w"][:n],
            now,
            override=self.ctx.globals.peek(self.config["override_key"]),
            planned=_listed(self.ctx.globals.peek(self.config["planned_overrides_key"])),
            schedule=self.config["hold_schedule"],
        )
        placed = place_all(
            settings,
            [start.timestamp() for start in starts],
            step,
            now,
            self.ctx.globals.peek("flexible_loads"),
            self.ctx.globals.peek("flexible_targets"),
        )
        inputs = plan_inputs(
            settings,
            forecast,
            soc,
            incumbent_battery_w=self._incumbent(starts),
            switch_penalty_per_kwh=self.config["switch_penalty_per_kwh"],
            reserve=self._reserve(starts, step),
            deferrable=self._deferrable(starts),
            solver=self.config["solver"],
            overridden=(
                [None if h is None else h.as_option() for h in held]
                if any(h is not None for h in held)
                else None
            ),
            targets=one_off.rules(self.ctx.globals.peek(self.config["targets_key"]), now),
            recorded_peaks=self._recorded_peaks(),
            flexible=[p.load for p in placed if p.load is not None],
        )
        return inputs, held, placed

    def _lapsed(self) -> list[str]:
        """The site config's one-off SOC targets whose time has passed: said, not dropped
        without a word (nodes.planning.targets.lapsed_problems)."""
        settings = self.ctx.settings
        raw = (settings.get("planner") or {}).get("soc_targets")
        zone = site_zone(str((settings.get("site") or {}).get("timezone") or "UTC"))
        return [str(p) for p in lapsed_problems(raw, self.ctx.clock.time(), zone)]

    def _recorded_peaks(self) -> list[float | None]:
        """Each demand charge's peak import this billing cycle in the site's history."""
        if not self.config.get("connection"):
            return []
        if not (self.ctx.settings.get("planner") or {}).get("demand_charges"):
            return []
        return cycle_peaks(database(self), self.ctx.settings, self.ctx.clock.time())

    def _deferrable(self, starts: list[datetime]) -> list[Any]:
        """The site's controllable loads, less what each has already run today."""
        if not self.ctx.settings.get("loads"):
            return []
        now = self.ctx.clock.time()
        done = run_today(self.ctx.globals.peek("loads"), self.ctx.settings, now)
        return list(deferrable_loads(self.ctx.settings, starts, done, now))

    def _reserve(self, starts: list[datetime], step: float) -> list[tuple[range, float]]:
        """The storm reserve (global.storm_reserve: soc, start, end epochs) as slot ranges."""
        reserve = self.ctx.globals.get(self.config["reserve_key"])
        if not reserve or not reserve.get("soc"):
            return []
        first = starts[0].timestamp()
        begin = max(0, int((float(reserve.get("start", first)) - first) // step))
        end = min(len(starts), int((float(reserve.get("end", first)) - first) // step) + 1)
        return [(range(begin, end), float(reserve["soc"]))] if begin < end else []

    def _incumbent(self, starts: list[datetime]) -> list[float | None] | None:
        """The plan in force's battery_w per slot start (None where it has no slot)."""
        previous = self.ctx.globals.peek(self.config["previous_key"])  # read only
        if not previous:
            return None
        by_start: dict[str, float] = {}
        for slot in previous.get("slots", []):
            w = slot.get("battery_w")
            if w is None and "battery_charge_w" in slot:  # plans from before battery_w
                w = slot["battery_charge_w"] - slot.get("battery_discharge_w", 0.0)
            if w is not None and "start" in slot:
                by_start[_iso(slot["start"])] = float(w)
        found = [by_start.get(start.isoformat()) for start in starts]
        return found if any(w is not None for w in found) else None


def slot_starts(forecast: Mapping[str, Any]) -> list[datetime]:
    """The start of each slot every series of ``forecast`` covers (the shortest wins)."""
    step = forecast["slot_seconds"]
    n = min(len(forecast[k]) for k in SERIES)
    if n < 1:
        raise ValueError("forecast has no complete slot to plan")
    return [datetime.fromtimestamp(forecast["start"] + i * step, UTC) for i in range(n)]


def plan_inputs(
    settings: Mapping[str, Any],
    forecast: Mapping[str, Any],
    soc: float,
    *,
    incumbent_battery_w: Sequence[float | None] | None = None,
    switch_penalty_per_kwh: float = 0.0,
    reserve: Sequence[tuple[range, float]] = (),
    deferrable: Sequence[Any] = (),
    solver: SolverName = "highs",
    overridden: Sequence[tuple[str, float] | None] | None = None,
    targets: Sequence[Mapping[str, Any]] = (),
    recorded_peaks: Sequence[float | None] = (),
    flexible: Sequence[FlexibleLoad] = (),
) -> PlanInputs:
    """What the solver is given for ``forecast`` from SOC ``soc``, under the site's battery,
    grid, planner and control settings: the plan flow's solve and a what-if's alike.
    ``targets``: SOC target rules beyond ``planner.soc_targets``, in the same form (the
    one-offs the API or Home Assistant set: nodes.planning.targets.one_off_rule).
    ``recorded_peaks``: each demand charge's peak import (kW) this billing cycle in the
    site's history (nodes.planning.demand.cycle_peaks); the higher of it and the rule's
    ``peak_so_far_kw`` is the charge's peak so far. ``flexible``: the flexible loads placed
    over the horizon (nodes.planning.placement)."""
    battery = settings["battery"]
    grid = settings["grid"]
    planner = settings.get("planner", {})
    control = settings.get("control", {})
    starts = slot_starts(forecast)
    n = len(starts)
    options = PlanOptions(
        cycle_cost_per_kwh=planner.get("cycle_cost_per_kwh", 0.0),
        break_even_delta=planner.get("break_even_delta", 0.0),
        allow_grid_charge=planner.get("allow_grid_charge", True),
        arbitrage_export=planner.get("arbitrage_export", True),
        incumbent_battery_w=incumbent_battery_w,
        soft_soc_min=planner.get("soft_soc_min"),
        soft_soc_min_penalty=planner.get("soft_soc_penalty_per_kwh", 0.0),
        soft_soc_max=planner.get("soft_soc_max"),
        soft_soc_max_penalty=planner.get("soft_soc_penalty_per_kwh", 0.0),
        reserve=reserve,
        switch_penalty_per_kwh=switch_penalty_per_kwh,
        overridden=overridden,
        solver=solver,
        display_tz=settings.get("site", {}).get("timezone", "UTC"),
    )
    return PlanInputs(
        slot_starts=starts,
        import_price=list(forecast["import_price"][:n]),
        export_price=list(forecast["export_price"][:n]),
        pv_w=list(forecast["pv_w"][:n]),
        load_w=list(forecast["load_w"][:n]),
        soc_now=soc,
        battery=BatterySpec(
            capacity_kwh=battery["capacity_kwh"],
            max_charge_w=battery["max_charge_w"],
            max_discharge_w=battery["max_discharge_w"],
            charge_efficiency=battery["charge_efficiency"],
            discharge_efficiency=battery["discharge_efficiency"],
            # The control tick keeps the critical SOC floor; a plan below it is moot.
            soc_min=max(battery["soc_min"], control.get("critical_soc", battery["soc_min"])),
            soc_max=battery["soc_max"],
        ),
        grid=GridSpec(grid["max_import_w"], grid["max_export_w"]),
        options=options,
        slot_hours=forecast["slot_seconds"] / 3600,
        deferrable=list(deferrable),
        flexible=list(flexible),
        targets=soc_targets(settings, starts, forecast["slot_seconds"] / 3600, targets),
        demand_charges=demand_charges(settings, starts, recorded_peaks),
    )


def _with_needs(found: list[dict[str, Any]], placed: list[Placement]) -> list[dict[str, Any]]:
    """Each flexible load's plan with what it needs by when, and the loads with no slot."""
    by_id = {f["name"]: f for f in found}
    result = []
    for p in placed:
        entry = by_id.get(p.id) or {"name": p.id, "power_w": [], "planned_kwh": 0.0}
        deadline = datetime.fromtimestamp(p.deadline, UTC).isoformat()
        entry.update(deadline=deadline, needed_kwh=round(p.energy_kwh, 3), why=p.why)
        result.append(entry)
    return result


def _listed(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def _soc(telemetry: dict[str, Any], capacity_kwh: float, default: float) -> float:
    """SOC now: the BMS's remaining energy when it agrees with the 1 %-step SOC register.
    A SOC the inverter cannot give (its BMS not connected) fails the plan: the last stays."""
    reading = telemetry.get("soc", default)
    if reading is None:
        raise ValueError("no SOC reading (the BMS is not connected): no plan without one")
    soc = float(reading)
    energy = telemetry.get("battery_energy_kwh")
    if isinstance(energy, int | float) and capacity_kwh > 0:
        fine = energy / capacity_kwh
        if abs(fine - soc) <= 0.011:  # finer, and the same reading
            soc = fine
    return min(1.0, max(0.0, soc))


def _iso(start: Any) -> str:
    """Normalise a stored slot start to the UTC isoformat the planner's starts use."""
    try:
        dt = datetime.fromisoformat(str(start))
    except ValueError:
        return str(start)
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
