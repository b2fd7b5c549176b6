"""The levels of the control hierarchy, highest first, each a pure function of the situation.

safety > storm > critical > override > schedule > plan > opportunistic > fallback.
A level returns the decision it makes, or None to leave it to the levels
below. The storm reserve and the critical SOC also act as floors over every
lower level (``nodes.control.floors``). Each decision names its level and says
why in words, so "why is it charging from the grid at 3 pm?" has an answer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flowengine.durations import parse_duration
from nodes.control.decision import MODES, Decision
from nodes.control.floors import LOOKAHEAD_S, Floor, active_reserve
from nodes.control.override_rules import default_reason, is_active
from nodes.control.schedule import rule_at
from nodes.control.situation import STORM_CHARGE, Situation
from nodes.core.wallclock import DAYS, site_zone
from nodes.planning.result import slot_at

#: SOC readings this close to a threshold count as on it (0.8 + 0.02 is not quite 0.82).
SOC_EPSILON = 1e-9
#: Decisions opportunistic action may turn into a sale: nothing forced is going on.
PASSIVE = ("self_use", "self_use_zero_export", "hold")


def safety_override(telemetry: Mapping[str, Any], settings: Any, now: float) -> Decision | None:
    """A hardware reason to stop forcing and hand back to self-use, if there is one."""
    if telemetry.get("grid_lost"):
        return Decision("self_use", 0.0, "safety", "grid lost: the inverter runs on its own")
    stale_after = parse_duration(settings.get("control", {}).get("telemetry_stale_after", "15m"))
    age = now - float(telemetry.get("timestamp", now))
    if age > stale_after:
        return Decision("self_use", 0.0, "safety", f"telemetry is {age:.0f}s old")
    if telemetry.get("bms_connected") is False:
        return Decision(
            "self_use",
            0.0,
            "safety",
            "BMS disconnected: no battery SOC, power or temperature to act on, so nothing "
            "is forced (the inverter's own self-use)",
        )
    battery, inverter = settings["battery"], settings.get("inverter", {})
    battery_temp = telemetry.get("battery_temp_c")
    if battery_temp is not None:
        if battery_temp > battery.get("max_temp_c", 50):
            return Decision("self_use", 0.0, "safety", f"battery hot ({battery_temp:.0f} °C)")
        if battery_temp < battery.get("min_temp_c", 0):
            return Decision("self_use", 0.0, "safety", f"battery cold ({battery_temp:.0f} °C)")
    inverter_temp = telemetry.get("inverter_temp_c")
    if inverter_temp is not None and inverter_temp > inverter.get("max_temp_c", 70):
        return Decision("self_use", 0.0, "safety", f"inverter hot ({inverter_temp:.0f} °C)")
    return None


def safety(sit: Situation) -> Decision | None:
    """Hardware limits, a missing SOC, or the health checker saying control is not sound."""
    hardware = safety_override(sit.telemetry, sit.settings, sit.now)
    if hardware is not None:
        return hardware
    if math.isnan(sit.soc):
        return Decision("self_use", 0.0, "safety", "no SOC reading: the inverter runs on its own")
    if sit.health_state == "safety":
        return Decision(
            "self_use", 0.0, "safety", f"health is safety ({sit.health_reason}): self-use"
        )
    return None


def storm_charging(sit: Situation) -> bool:
    """Whether the storm reserve needs charging: below it, or still filling up to it plus
    the hysteresis once started."""
    reserve = active_reserve(sit.storm, sit.now)
    if reserve is None:
        return False
    options = sit.options
    if STORM_CHARGE in sit.latched:
        top = options.soc_max - options.soc_margin
        return sit.soc < min(reserve.soc + options.soc_hysteresis, top) - SOC_EPSILON
    return sit.soc < reserve.soc - SOC_EPSILON


def storm(sit: Situation) -> Decision | None:
    """Charge from the grid, at full power, up to an active storm reserve."""
    if not storm_charging(sit):
        return None
    reserve = active_reserve(sit.storm, sit.now)
    assert reserve is not None  # storm_charging saw it
    until = "" if reserve.end == math.inf else f" until {sit.local(reserve.end)}"
    power = sit.options.max_charge_w
    where = "is below it" if sit.soc < reserve.soc else "is topping up past it (hysteresis)"
    return Decision(
        "force_charge",
        power,
        "storm",
        f"storm reserve {reserve.soc:.0%}{until} ({reserve.why}): SOC {sit.soc:.0%} {where}, "
        f"charging from the grid at {power:.0f} W",
    )


def override(sit: Situation) -> Decision | None:
    """The manual override (API or MQTT) until it expires; an unknown mode is ignored, and
    so is one whose ``from`` is still to come (it is started then: nodes/control/planned.py)."""
    wanted = sit.override
    if not isinstance(wanted, Mapping) or not is_active(wanted, sit.now):
        return None
    until = wanted["until"]
    mode = str(wanted["mode"])
    power = _power(wanted.get("power_w"), mode, sit)
    source = str(wanted.get("source") or "")
    said = default_reason(source) if source else "manual override from the user"
    reason = wanted.get("reason")
    why = f" ({reason})" if reason and reason != said else ""  # not the default said twice
    return Decision(
        mode,
        power,
        "override",
        f"{said} until {sit.local(float(until))}: {_describe(mode, power)}{why}",
    )


def schedule(sit: Situation) -> Decision | None:
    """The first rule of the weekly mode schedule that covers now, in the site's wall time."""
    rule = rule_at(sit.options.schedule, sit.now, site_zone(sit.options.timezone))
    if rule is None or rule.mode not in MODES:
        return None
    mode = rule.mode
    power = _power(rule.power_w, mode, sit)
    days = ",".join(DAYS[d] for d in sorted(rule.days)) if len(rule.days) < 7 else "every day"
    limit = "" if rule.export_limit_w is None else f", export up to {rule.export_limit_w:.0f} W"
    return Decision(
        mode,
        power,
        "schedule",
        f"schedule rule {rule.label!r} ({days}): {_describe(mode, power)}{limit}",
        export_limit_w=rule.export_limit_w,
    )


def plan(sit: Situation) -> Decision | None:
    """The plan's slot for now, or None when no plan covers it."""
    decision = plan_decision(sit.plan, sit.now)
    return None if decision.level == "fallback" else decision


def plan_decision(plan: Mapping[str, Any] | None, now: float) -> Decision:
    """The plan's slot for ``now``, or self-use when no plan covers it."""
    slot = slot_at(dict(plan) if plan else None, now)
    if slot is None:
        return Decision("self_use", 0.0, "fallback", "no plan covers this slot: self-use")
    battery_w = slot.get("battery_w")
    return Decision(
        slot["mode"],
        float(slot.get("power_w", 0.0)),
        "plan",
        slot.get("reason") or f"plan slot from {slot['start']}: {slot['mode']}",
        None if battery_w is None else float(battery_w),
    )


def opportunistic(sit: Situation, planned: Decision, floor: Floor) -> Decision | None:
    """Sell stored energy into a spike the plan did not see coming: when the export price
    now is a spike (``opportunistic.spike_export_price``) and beats both what the stored
    energy cost and the price the plan expected for now,
    each by the break-even delta, and SOC is well above the floors. Never while health
    is degraded (no arbitrage), nor without a plan (no forecast to have missed a spike).
    Never into the energy the plan keeps for a SOC target still ahead (``target_floor``):
    it stops there, and sells no faster than keeps it above that for a held mode's time."""
    options = sit.options
    if not options.opportunistic or sit.degraded:
        return None
    if not passive(planned, sit):
        return None
    expected = planned_export_price(sit)
    if expected is None:
        return None  # no plan, no forecast: nothing is "unforecast" (and start-up would sell)
    price = export_price_now(sit)
    if price is None:
        return None
    if price < options.spike_export_price:
        return None  # not a spike: the plan's own choice stands (forecasts err both ways)
    basis = cost_basis(sit)
    if not price > basis + options.break_even_delta:
        return None
    if not price > expected + options.break_even_delta:
        return None  # the plan saw this price coming and chose to keep the energy
    bottom = max(floor.soc, options.soc_min + options.soc_margin) + options.soc_hysteresis
    if not sit.soc > bottom:
        return None
    power = options.max_discharge_w
    kept = target_floor(sit)
    keeping = ""
    if kept is not None:
        if not sit.soc > kept.soc + SOC_EPSILON:
            return None  # what is left is the plan's, for its target
        power = min(power, _sale_room_w(sit, kept.soc))
        keeping = f", keeping {kept.soc:.0%} for the plan's target {kept.name}"
    instead = f"; the plan said {planned.mode} expecting {_price(expected)}"
    return Decision(
        "force_discharge",
        power,
        "opportunistic",
        f"export price {_price(price)} beats the stored energy's cost {_price(basis)} plus "
        f"the break-even delta {_price(options.break_even_delta)}: selling at "
        f"{power:.0f} W{keeping}{instead}",
    )


@dataclass(frozen=True)
class TargetFloor:
    """The SOC an unplanned sale must leave for the plan's SOC targets, and which target
    sets it (its name, or its SOC and time)."""

    soc: float
    name: str


def target_floor(sit: Situation) -> TargetFloor | None:
    """The lowest SOC a sale the plan did not make may leave now so that every SOC target
    of the plan still ahead (``targets``, ``by`` after now) stays as met as the plan has it;
    None when none lies ahead.

    Energy sold now is missing from the rest of the plan's path, so the plan, followed
    from here, ends at its target's slot at what it reaches there (``reached``) less the
    sale. The floor for a target is its SOC plus whatever the plan means to draw from the
    battery between now and then (its SOC now less ``reached``): the house may run from the
    battery on the way, so selling down to the target's SOC alone would leave it short at
    its time unless a re-plan bought the energy back, perhaps at the spike's own price. Never
    below the target's SOC either, even where the plan charges on the way: buying back what
    was sold before the target is a bet the plan did not make. Not "no sale at all while a
    target lies ahead": a daily target is always inside a 48 h plan, so the level would
    never act; energy above the floor is the plan's to spare. The plan's SOC now is the
    higher of its current slot's start and end (it does not say where between them now is).
    """
    plan = sit.plan or {}
    targets = plan.get("targets")
    if not isinstance(targets, list) or not targets:
        return None
    path = _planned_soc(plan, sit.now)
    found: TargetFloor | None = None
    for target in targets:
        if not isinstance(target, Mapping):
            continue
        soc, by = _number(target.get("soc")), _epoch(target.get("by"))
        if soc is None or by is None or not by > sit.now:
            continue  # unreadable, or its time is past: nothing left to keep for it
        reached = _number(target.get("reached"))
        drawn = 0.0 if path is None or reached is None else max(0.0, path - reached)
        keep = soc + drawn
        if found is None or keep > found.soc:
            label = str(target.get("name") or f"{soc:.0%}")
            found = TargetFloor(keep, f"{label} at {sit.local(by)}")
    return found


def _planned_soc(plan: Mapping[str, Any], now: float, seconds: float = 1800) -> float | None:
    """The plan's SOC now: the higher of its slot's start and end (the previous slot's
    end, or the plan's starting SOC for its first slot), None when no slot covers now
    (slots ``seconds`` long, as ``slot_at`` takes them)."""
    slots = plan.get("slots")
    previous: float | None = _number((plan.get("built_from") or {}).get("soc"))
    for slot in slots if isinstance(slots, list) else ():
        start = _epoch(slot.get("start")) if isinstance(slot, Mapping) else None
        end = _number(slot.get("soc_end")) if isinstance(slot, Mapping) else None
        if start is not None and start <= now < start + seconds:
            sides = [v for v in (previous, end) if v is not None]
            return max(sides) if sides else None
        previous = end
    return None


def _sale_room_w(sit: Situation, keep: float) -> float:
    """The highest discharge that cannot take the SOC below ``keep`` before a tick can stop
    it: two ticks, or the minimum hold that keeps a sale running once started, if longer."""
    seconds = max(LOOKAHEAD_S, sit.options.min_hold_for("force_discharge"))
    efficiency = _number(sit.settings["battery"].get("discharge_efficiency")) or 1.0
    stored_wh = (sit.soc - keep) * sit.options.capacity_kwh * 1000.0
    return max(0.0, stored_wh * efficiency * 3600.0 / seconds)


def passive(planned: Decision, sit: Situation) -> bool:
    """Nothing forced is going on: self-use, zero export, hold, or a discharge into the house
    alone (no more than load less PV now). Plans name a discharge that covers part of the
    load force_discharge, as the battery does discharge, yet it sells nothing."""
    if planned.mode in PASSIVE:
        return True
    serves = max(0.0, sit.load_w - sit.pv_w) + 1.0
    return planned.mode == "force_discharge" and -planned.target_w() <= serves


def fallback(sit: Situation) -> Decision:
    return Decision("self_use", 0.0, "fallback", "nothing else decided: the inverter's self-use")


def export_price_now(sit: Situation) -> float | None:
    """The export price now: the price feed's interval (docs/inputs.md), else the plan's slot."""
    prices = sit.prices or {}
    data = prices.get("data", prices)
    intervals = data.get("intervals") if isinstance(data, Mapping) else None
    for interval in intervals if isinstance(intervals, list) else ():
        if not isinstance(interval, Mapping):
            continue
        start, end = _number(interval.get("start")), _number(interval.get("end"))
        if start is not None and end is not None and start <= sit.now < end:
            price = _number(interval.get("export_price"))
            if price is not None:
                return price
    return planned_export_price(sit)


def planned_export_price(sit: Situation) -> float | None:
    """The export price the plan expected for now, if a plan covers now."""
    slot = slot_at(dict(sit.plan) if sit.plan else None, sit.now)
    return _number(slot.get("export_price")) if slot else None


def cost_basis(sit: Situation) -> float:
    """What the stored energy cost ($/kWh): global.cost_basis, else the configured default."""
    per_kwh = _number((sit.cost_basis or {}).get("per_kwh"))
    return sit.options.default_cost_basis if per_kwh is None else per_kwh


def _power(value: Any, mode: str, sit: Situation) -> float:
    """A rule's or override's power; missing means the battery's full power for the mode."""
    power = _number(value)
    if power is not None:
        return abs(power)
    if mode == "force_charge":
        return sit.options.max_charge_w
    if mode == "force_discharge":
        return sit.options.max_discharge_w
    return 0.0


def _describe(mode: str, power: float) -> str:
    return f"{mode} at {power:.0f} W" if mode.startswith("force") else mode


def _price(value: float) -> str:
    return f"${value:.2f}/kWh"


def _epoch(value: Any) -> float | None:
    """An ISO time (with an offset) as epoch seconds; None if it is not one."""
    try:
        when = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return None if when is None or when.tzinfo is None else when.timestamp()


def _number(value: Any) -> float | None:
    """``value`` as a finite float, or None for anything else (missing, NaN, text)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None
