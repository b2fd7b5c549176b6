"""One control decision, pure: the hierarchy, anti-oscillation, then the hard limits.

``control_tick`` takes the situation and the stability state and gives the
command's decision, the floor it keeps and the next state; the
``control.hierarchy`` node only reads context and writes the result back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from nodes.control import levels
from nodes.control.decision import Decision, Limits, enforce_limits
from nodes.control.floors import Floor, critical_latched, floor_of, hold_floor, no_arbitrage
from nodes.control.situation import CRITICAL, STORM_CHARGE, Situation
from nodes.control.stability import StabilityState, record, stabilise


@dataclass(frozen=True)
class Outcome:
    #: What goes to the inverter: inside every hard limit.
    decision: Decision
    #: What the hierarchy asked for before anti-oscillation and the limits.
    proposed: Decision
    floor: Floor
    state: StabilityState


def propose(sit: Situation, floor: Floor) -> Decision:
    """The hierarchy's decision, highest level first, kept above the floors."""
    decided = levels.safety(sit)
    if decided is not None:
        return decided
    decided = levels.storm(sit) or levels.override(sit) or levels.schedule(sit)
    if decided is None:
        planned = levels.plan(sit)
        if planned is None:
            decided = levels.fallback(sit)
        else:
            decided = levels.opportunistic(sit, planned, floor) or planned
    return zero_export(guard(decided, sit, floor), sit)


def zero_export(decision: Decision, sit: Situation) -> Decision:
    """Self-use with no export allowed is the zero-export mode, named so before
    anti-oscillation counts it (enforce_limits would rename it anyway).

    So is self-use under any lower export limit on KH firmware before 1.33, which
    has no export-limit register: the reason says so (``nodes.foxess.client``).
    """
    grid = float(sit.settings["grid"]["max_export_w"])
    limit = grid if decision.export_limit_w is None else min(grid, decision.export_limit_w)
    if decision.mode != "self_use":
        return decision
    if limit <= 0:
        return replace(decision, mode="self_use_zero_export")
    if limit < grid and (sit.settings.get("inverter") or {}).get("firmware") == "pre133":
        why = (
            f"{decision.reason} (zero export: KH firmware before 1.33 cannot limit "
            f"self-use export to {limit:.0f} W)"
        )
        return replace(decision, mode="self_use_zero_export", reason=why)
    return decision


def guard(decision: Decision, sit: Situation, floor: Floor) -> Decision:
    """The floors and the degraded rules over a decision of a lower level."""
    if decision.level == "safety":
        return decision
    return hold_floor(no_arbitrage(decision, sit), sit, floor)


def latches(sit: Situation) -> frozenset[str]:
    """The hysteresis latches on after this tick."""
    on = set()
    if not math.isnan(sit.soc):
        if critical_latched(sit):
            on.add(CRITICAL)
        if levels.storm_charging(sit):
            on.add(STORM_CHARGE)
    return frozenset(on)


def control_tick(sit: Situation, state: StabilityState) -> Outcome:
    floor = floor_of(sit)
    proposed = propose(sit, floor)
    chosen = stabilise(proposed, state, sit.now, sit.options)
    if chosen is not proposed:  # the mode in force, kept: still above the floors
        chosen = guard(chosen, sit, floor)
    limits = Limits.from_settings(sit.settings)
    if sit.degraded:
        limits = limits.with_extra_margin(sit.options.degraded_soc_margin)
    # Without a SOC reading safety chose self-use, which enforce_limits passes as it is.
    final = enforce_limits(chosen, sit.soc, sit.pv_w, sit.load_w, limits, floor.soc)
    next_state = record(state, final, sit.now, sit.options, latches(sit))
    return Outcome(final, proposed, floor, next_state)
