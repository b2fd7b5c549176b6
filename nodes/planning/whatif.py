"""What an override would cost against the plan in force, from two solves.

The plan's own slots carry what it was solved on (prices, PV, load), so the rest
of it is solved again from the SOC now twice: free (what the plan does from
here) and with the override's battery power held over the slots it covers. The
difference is the override's cost: the bill over the horizon plus the energy
left in the battery at its end, valued as the plan values it. The override is
held as the inverter runs it (``PlanOptions.overridden``): a forced charge never
discharges and falls short of its power only where the battery cannot take it,
at a price no saving beats, so an override the battery cannot follow (a charge
into a full battery) still solves, and costs what following it as far as it can
does.

Deferrable loads are left out of both solves: they would move the same way in
each, and the preview must answer in well under a second on a Pi.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nodes.planning.held import held_power, held_slots
from nodes.planning.model import solve_plan
from nodes.planning.plan import plan_inputs
from nodes.planning.result import Plan


@dataclass(frozen=True)
class OverrideCost:
    """The override against the plan from now on, in $ (+ = the override costs more)."""

    delta: float
    plan_cost: float
    override_cost: float
    #: Slots the override covers, from the first (now's) on.
    slots: int
    #: How far short of the override's power the battery can go, in kWh (a full battery).
    shortfall_kwh: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "delta": round(self.delta, 4),
            "plan_cost": round(self.plan_cost, 4),
            "override_cost": round(self.override_cost, 4),
            "slots": self.slots,
            "shortfall_kwh": round(self.shortfall_kwh, 3),
        }


def override_cost(
    plan: Mapping[str, Any],
    settings: Mapping[str, Any],
    soc: float,
    now: float,
    mode: str,
    power_w: float,
    until: float,
    start: float | None = None,
) -> OverrideCost:
    """The cost of ``mode`` at ``power_w`` from ``now`` (or a later ``start``: an override
    set ahead) to ``until`` against ``plan`` (its stored dict form) from SOC ``soc``;
    ``ValueError`` if the plan has no slot left."""
    begin = now if start is None else max(now, start)
    slots = _remaining(plan.get("slots") or [], now)
    if not slots:
        raise ValueError("the plan has no slot from now on: no cost to compare against")
    starts = [_epoch(slot["start"]) for slot in slots]
    step = starts[1] - starts[0] if len(starts) > 1 else 1800.0
    forecast = {
        "start": starts[0],
        "slot_seconds": step,
        **{
            key: [float(slot.get(key) or 0.0) for slot in slots]
            for key in ("import_price", "export_price", "pv_w", "load_w")
        },
    }
    held = [
        held_power(mode, power_w, slot, settings["battery"], _overlap(start, step, begin, until))
        for slot, start in zip(slots, starts, strict=True)
    ]
    # Both solves hold what the plan holds (the weekly schedule's slots): only the
    # override differs.
    pv_w = [float(slot.get("pv_w") or 0.0) for slot in slots]
    load_w = [float(slot.get("load_w") or 0.0) for slot in slots]
    scheduled = held_slots(settings, starts, step, pv_w, load_w, now)
    free_options = [None if h is None else h.as_option() for h in scheduled]
    overridden = [
        (mode, want) if want is not None else scheduled_option
        for want, scheduled_option in zip(held, free_options, strict=True)
    ]
    free = solve_plan(plan_inputs(settings, forecast, soc, overridden=_any(free_options)))
    pinned = solve_plan(plan_inputs(settings, forecast, soc, overridden=overridden))
    capacity = float(settings["battery"]["capacity_kwh"])
    hours = step / 3600
    shortfall = sum(
        abs(slot.battery_w - want) * hours / 1000
        for slot, want in zip(pinned.slots, held, strict=True)
        if want is not None
    )
    plan_cost, with_override = _value(free, soc, capacity), _value(pinned, soc, capacity)
    covered = sum(1 for want in held if want is not None)
    return OverrideCost(with_override - plan_cost, plan_cost, with_override, covered, shortfall)


def _overlap(start: float, step: float, begin: float, until: float) -> float:
    """The part of the slot from ``start`` that the override from ``begin`` to ``until``
    covers."""
    return max(0.0, min(start + step, until) - max(start, begin)) / step


def _any(
    overridden: list[tuple[str, float] | None],
) -> list[tuple[str, float] | None] | None:
    return overridden if any(h is not None for h in overridden) else None


def _value(plan: Plan, soc: float, capacity_kwh: float) -> float:
    """The bill over the horizon less the energy left at its end, as the plan values it."""
    end_soc = plan.slots[-1].soc_end if plan.slots else soc
    return plan.total_cost - plan.terminal_value_per_kwh * (end_soc - soc) * capacity_kwh


def _remaining(slots: Sequence[Mapping[str, Any]], now: float) -> list[Mapping[str, Any]]:
    """The plan's slots from the one holding ``now`` on (a slot is as long as the step)."""
    starts = [_epoch(slot["start"]) for slot in slots]
    step = starts[1] - starts[0] if len(starts) > 1 else 1800.0
    return [slot for slot, start in zip(slots, starts, strict=True) if start + step > now]


def _epoch(start: Any) -> float:
    return datetime.fromisoformat(str(start)).timestamp()
