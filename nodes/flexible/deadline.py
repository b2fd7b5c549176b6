"""What a flexible load still needs, by when, and the window it runs in (site wall clock).

The next deadline is the target's ``by`` on the next day it counts (a one-off target
set from the API or Home Assistant replaces it). What it needs: a car's energy from its
SOC now (its last reading plus what it drew since, else ``assumed_soc`` plus what this
session drew) to the target; a tank's energy less what it drew since its window
opened. The planner places the need in its slots (nodes.planning.placement); control
stops at it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from nodes.flexible.settings import FlexConfig
from nodes.loads.window import MINUTES_PER_DAY, local_time

#: A reported SOC may be this much above the truth (whole percent, rounded).
REPORTED_SOC_SLACK = 0.005


def next_deadline(config: FlexConfig, now: float, zone: tzinfo) -> float:
    """The epoch of the target's next ``by`` after ``now`` on a day it counts."""
    today = datetime.fromtimestamp(now, zone).date()
    for ahead in range(8):
        day = today + timedelta(days=ahead)
        if day.weekday() not in config.target.days:
            continue
        at = local_time(day, config.target.by_min, zone)
        if at > now:
            return at
    raise ValueError(f"{config.id}: no deadline in the coming week")  # days is never empty


def window_start(config: FlexConfig, deadline: float, zone: tzinfo) -> float:
    """The start of the window occurrence the deadline falls in or ends; without a window,
    the same time the day before (what the load draws after it counts towards this one)."""
    window = config.window
    day = datetime.fromtimestamp(deadline, zone).date()
    if window is None:
        return local_time(day - timedelta(days=1), config.target.by_min, zone)
    for back in range(3):
        start = local_time(day - timedelta(days=back), window.start_min, zone)
        if start < deadline:
            return start
    return deadline - MINUTES_PER_DAY * 60.0


@dataclass(frozen=True, slots=True)
class Need:
    """What a load needs: ``energy_kwh`` by ``deadline``, running from ``opened`` (its
    window's start) to ``closes`` (the deadline, or its window's end before it)."""

    deadline: float
    opened: float
    closes: float
    energy_kwh: float
    what: str  # "80% from 30%", "3.5 kWh more of 6.0"


def need(
    config: FlexConfig,
    state: Mapping[str, Any] | None,
    now: float,
    zone: tzinfo,
    one_off: Mapping[str, Any] | None = None,
) -> Need:
    """What ``config``'s load needs by its next deadline, from its ``state``
    (global.flexible_loads[id]: soc, soc_kwh (session_kwh when the SOC was read),
    session_start, session_kwh)."""
    state = state or {}
    deadline = next_deadline(config, now, zone)
    soc_wanted, energy_wanted = config.target.soc, config.target.energy_kwh
    if one_off and float(one_off.get("by", 0)) > now:
        deadline = float(one_off["by"])
        soc_wanted = one_off.get("soc")
        energy_wanted = one_off.get("energy_kwh")
    opened = window_start(config, deadline, zone)
    closes = deadline
    if config.window is not None:
        closes = min(deadline, opened + config.window.minutes * 60.0)
    drawn = drawn_since(state, opened)
    if soc_wanted is not None:
        battery = config.battery_kwh or 1.0
        soc_now = state.get("soc")
        assumed = soc_now is None
        if soc_now is None:
            soc_now = config.assumed_soc + drawn * config.efficiency / battery
        else:  # what it drew since the car last said its SOC (a slow feed lags)
            mark = state.get("soc_kwh")  # unknown: count nothing on top
            session = float(state.get("session_kwh") or 0.0)
            since = 0.0 if mark is None else max(0.0, session - float(mark))
            # A car says its SOC in whole percent: 80 may be 79.5, so take it that low.
            reported = max(0.0, float(soc_now) - REPORTED_SOC_SLACK)
            soc_now = min(1.0, reported + since * config.efficiency / battery)
        energy = config.energy_for_soc(float(soc_now), float(soc_wanted))
        what = f"{float(soc_wanted):.0%} from {float(soc_now):.0%}"
        if assumed:  # nothing reports the car's SOC: its assumed_soc, and what it drew
            what += " (assumed)"
    else:
        energy = max(0.0, float(energy_wanted or 0.0) - drawn)
        what = f"{energy:.1f} kWh more of {float(energy_wanted or 0.0):.1f}"
    return Need(deadline, opened, closes, energy, what)


def drawn_since(state: Mapping[str, Any], since: float) -> float:
    """kWh the load drew in its session, if that session began at or after ``since``."""
    started = state.get("session_start")
    if started is None or float(started) < since:
        return 0.0
    return float(state.get("session_kwh") or 0.0)
