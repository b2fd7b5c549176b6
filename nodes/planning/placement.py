"""What each flexible load still needs, by when, and in which of the plan's slots.

A load's next deadline is its target's ``by`` on the next day its target counts (a
one-off target set from the API or Home Assistant replaces it). Its slots are those of
its window that end by the deadline and have not ended (at least half inside, as a
relay's are), from the next slot on while a car is not plugged in. What it needs: a
car's energy from its SOC now (the charger's reading, else ``assumed_soc`` plus what
this session drew) to the target; a tank's energy less what it drew since its window
opened. A deadline past the horizon's end leaves the horizon its share.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from nodes.flexible.settings import FlexConfig, flexible_configs
from nodes.loads.settings import zone_of
from nodes.loads.window import local_time
from nodes.planning.inputs import FlexibleLoad

MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True, slots=True)
class Placement:
    """One load's need for the plan: ``load`` is None when it has no slot in the horizon."""

    id: str
    deadline: float
    energy_kwh: float
    window_start: float
    load: FlexibleLoad | None
    why: str


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


def place(
    config: FlexConfig,
    state: Mapping[str, Any] | None,
    starts: Sequence[float],
    slot_s: float,
    now: float,
    zone: tzinfo,
    one_off: Mapping[str, Any] | None = None,
    priority: int = 0,
) -> Placement:
    """The load as the planner's ``FlexibleLoad`` over ``starts`` (epochs), and why."""
    state = state or {}
    deadline = next_deadline(config, now, zone)
    soc_wanted, energy_wanted = config.target.soc, config.target.energy_kwh
    if one_off and float(one_off.get("by", 0)) > now:
        deadline = float(one_off["by"])
        soc_wanted = one_off.get("soc")
        energy_wanted = one_off.get("energy_kwh")
    opened = window_start(config, deadline, zone)
    begin = max(now, opened)
    end = deadline
    if config.window is not None:
        end = min(deadline, opened + config.window.minutes * 60.0)
    drawn = _drawn_since(state, opened)
    if soc_wanted is not None:
        soc_now = state.get("soc")
        if soc_now is None:
            battery = config.battery_kwh or 1.0
            soc_now = config.assumed_soc + drawn * config.efficiency / battery
        need = config.energy_for_soc(float(soc_now), float(soc_wanted))
        what = f"{float(soc_wanted):.0%} from {float(soc_now):.0%}"
    else:
        need = max(0.0, float(energy_wanted or 0.0) - drawn)
        what = f"{need:.1f} kWh more of {float(energy_wanted or 0.0):.1f}"
    if state.get("plugged") is False and config.kind == "car":
        begin = max(begin, _next_slot_start(starts, slot_s, now))
    slots = [i for i, s in enumerate(starts) if _inside(s, s + slot_s, begin, end, now)]
    by = datetime.fromtimestamp(deadline, zone).strftime("%a %H:%M")
    if need <= 1e-6 or not slots:
        why = f"{config.name}: {what} by {by}" + ("" if slots else ", no slot in the horizon")
        return Placement(config.id, deadline, need, begin, None, why)
    first, last = slots[0], slots[-1]
    horizon_end = starts[-1] + slot_s
    energy = need
    if end > horizon_end:  # the horizon holds only its share of the window
        energy = need * (horizon_end - begin) / max(end - begin, 1.0)
    load = FlexibleLoad(
        name=config.id,
        max_w=config.max_w,
        energy_kwh=round(energy, 6),
        window=(first, last),
        min_w=config.min_w,
        hard=config.target.hard,
        shortfall_price=config.target.shortfall_price,
        solar_only=config.solar_only,
        from_battery=config.from_battery,
        priority=priority,
    )
    return Placement(config.id, deadline, need, begin, load, f"{config.name}: {what} by {by}")


def _drawn_since(state: Mapping[str, Any], since: float) -> float:
    """kWh the load drew in its session, if that session began at or after ``since``."""
    started = state.get("session_start")
    if started is None or float(started) < since:
        return 0.0
    return float(state.get("session_kwh") or 0.0)


def _next_slot_start(starts: Sequence[float], slot_s: float, now: float) -> float:
    later = [s for s in starts if s > now]
    return later[0] if later else now + slot_s


def _inside(start: float, end: float, begin: float, finish: float, now: float) -> bool:
    """A slot that has not ended and lies at least half inside [begin, finish)."""
    return end > now and min(end, finish) - max(start, begin) >= (end - start) / 2


def place_all(
    settings: Mapping[str, Any],
    starts: Sequence[float],
    slot_s: float,
    now: float,
    states: Any = None,
    one_offs: Any = None,
) -> list[Placement]:
    """Every flexible load of the site config, placed over ``starts``; ``states`` and
    ``one_offs`` are global.flexible_loads and global.flexible_targets (by load id)."""
    if not settings.get("flexible_loads") or not starts:
        return []
    zone = zone_of(settings)
    states = states if isinstance(states, Mapping) else {}
    one_offs = one_offs if isinstance(one_offs, Mapping) else {}
    return [
        place(config, states.get(load_id), starts, slot_s, now, zone, one_offs.get(load_id))
        for load_id, config in flexible_configs(settings).items()
    ]
