"""The SOC floors no lower level may discharge through: the storm reserve and the critical SOC.

The storm and critical levels sit above the user's override, the schedule and
the plan in the hierarchy, yet most of the time they have nothing to say; when
they do, it is "not below this SOC". So they act as a floor over whatever the
lower levels decide: a decision that would discharge at or below the floor
becomes self-use with the inverter's own minimum SOC at the floor (the inverter
then holds it by itself, even if we fall silent). A discharge above it that would
reach it within the next tick or two runs on at its power until it does, and no
longer: the command carries that end (``Decision.until``) and the inverter's own
watchdog (44001) hands back to its work mode then, whether or not a tick comes.
Closer to the floor than that (under ``MIN_UNTIL_S`` to go) it is capped so it
cannot run through the floor before the next tick or two.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from nodes.control.decision import INVERTER_LED, Decision
from nodes.control.situation import CRITICAL, Situation

#: How long a capped discharge may run before the next tick stops it (two ticks: one may be late).
LOOKAHEAD_S = 600.0
#: A discharge that would reach the floor sooner than LOOKAHEAD_S runs on at its power with
#: an end (``Decision.until``) the inverter's watchdog keeps, if it has this long to run;
#: closer to the floor it is capped instead.
MIN_UNTIL_S = 30.0


@dataclass(frozen=True, slots=True)
class Floor:
    #: No forced discharge at or below this SOC this tick (hysteresis included).
    soc: float
    #: What the inverter's own minimum-SOC setting should hold (no hysteresis: a stable register).
    min_soc: float
    #: Who set it: "storm" or "critical".
    level: str
    reason: str


@dataclass(frozen=True, slots=True)
class Reserve:
    soc: float
    start: float
    end: float
    why: str


def active_reserve(storm: Mapping[str, Any] | None, now: float) -> Reserve | None:
    """The storm reserve in force at ``now``: armed, and now in [start, end)."""
    if not isinstance(storm, Mapping) or not storm.get("armed"):
        return None
    soc = _number(storm.get("soc"))
    if soc is None or soc <= 0:
        return None
    # An armed reserve with a missing edge is held, not ignored: the safe reading.
    start = _number(storm.get("start"))
    end = _number(storm.get("end"))
    start = float("-inf") if start is None else start
    end = float("inf") if end is None else end
    if not start <= now < end:
        return None
    return Reserve(min(1.0, soc), start, end, str(storm.get("reason") or "storm risk"))


def floor_of(sit: Situation) -> Floor:
    """This tick's floor: the higher of the critical SOC and an active storm reserve."""
    options = sit.options
    critical = options.critical_soc
    latched = CRITICAL in sit.latched
    critical_floor = critical + options.soc_hysteresis if latched else critical
    reserve = active_reserve(sit.storm, sit.now)
    min_soc = max(options.soc_min, critical, reserve.soc if reserve else 0.0)
    if reserve is not None and reserve.soc >= critical_floor:
        reason = f"storm reserve {reserve.soc:.0%} ({reserve.why})"
        if reserve.end != float("inf"):
            reason += f" until {sit.local(reserve.end)}"
        return Floor(reserve.soc, min_soc, "storm", reason)
    reason = f"critical SOC floor {critical:.0%}"
    if latched:
        reason += f" (held to {critical_floor:.0%} once reached)"
    return Floor(critical_floor, min_soc, "critical", reason)


def critical_latched(sit: Situation) -> bool:
    """Whether the critical floor is reached now (it then holds until SOC clears it plus the
    hysteresis)."""
    options = sit.options
    latched = CRITICAL in sit.latched
    threshold = options.critical_soc + (options.soc_hysteresis if latched else 0.0)
    return sit.soc <= threshold + 1e-9  # 0.15 + 0.02 is not quite 0.17


def hold_floor(decision: Decision, sit: Situation, floor: Floor) -> Decision:
    """``decision``, kept from discharging the battery through ``floor``."""
    target = decision.target_w()
    if decision.mode in INVERTER_LED or not target < 0:
        return decision
    soc = sit.soc
    if soc <= floor.soc + 1e-9:
        return Decision(
            "self_use",
            0.0,
            floor.level,
            f"{floor.reason}: SOC {soc:.0%} is at it, so {decision.mode} "
            f"({decision.level}: {decision.reason}) would discharge below it; self-use with "
            f"the inverter's minimum SOC at {floor.min_soc:.0%}",
        )
    room_w = (soc - floor.soc) * sit.options.capacity_kwh * 1000 * 3600 / LOOKAHEAD_S
    if -target <= room_w:
        return decision
    seconds = seconds_to_floor(sit, floor, -target)
    if seconds >= LOOKAHEAD_S:
        return decision  # farther than it looked: the BMS's finer reading
    if seconds >= MIN_UNTIL_S:
        # At its power to the floor, not tapered off: the command ends by itself there (the
        # inverter's watchdog, 44001), so no late tick can run it through the floor.
        until = sit.now + seconds
        if decision.until is not None:
            until = min(until, decision.until)
        return replace(
            decision,
            until=until,
            reason=f"{decision.reason} (for {until - sit.now:.0f} s, until the {floor.reason}: "
            "the inverter's watchdog then hands back to its own mode, which keeps the floor)",
        )
    return replace(
        decision,
        power_w=room_w,
        battery_w=-room_w,
        reason=f"{decision.reason} (discharge capped at {room_w:.0f} W to stay above the "
        f"{floor.reason})",
    )


def seconds_to_floor(sit: Situation, floor: Floor, discharge_w: float) -> float:
    """How long a discharge of ``discharge_w`` (AC) takes to run the battery from its SOC now
    (the BMS's finer reading where it has one) down to ``floor``, or to the hard limit's
    bottom (``soc_min`` plus the margin ``enforce_limits`` keeps) where that is higher;
    0 at or below it."""
    options = sit.options
    margin = options.soc_margin + (options.degraded_soc_margin if sit.degraded else 0.0)
    stop = max(floor.soc, options.soc_min + margin)
    stored_w = discharge_w / max(1e-6, options.discharge_efficiency)
    above = max(0.0, sit.fine_soc - stop) * options.capacity_kwh * 3.6e6
    return above / stored_w if stored_w > 0 else 0.0


def no_arbitrage(decision: Decision, sit: Situation) -> Decision:
    """While health is degraded, stored energy is not sold: an exporting discharge becomes
    self-use."""
    if not sit.degraded or decision.mode in INVERTER_LED:
        return decision
    discharge = -decision.target_w()
    if discharge <= max(0.0, sit.load_w - sit.pv_w) + 1.0:
        return decision
    return Decision(
        "self_use",
        0.0,
        "safety",
        f"no arbitrage while health is degraded ({sit.health_reason}): {decision.mode} "
        f"({decision.level}: {decision.reason}) would export stored energy; self-use instead",
    )


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if number == number else None  # NaN is no number
