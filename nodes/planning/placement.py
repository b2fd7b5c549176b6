"""In which of the plan's slots each flexible load goes, with what it still needs.

What a load needs by when is nodes.flexible.deadline's. Its slots are those of its
window that end by the deadline and have not ended (at least half inside, as a relay's
are), from the next slot on while a car is not plugged in. A deadline past the
horizon's end leaves the horizon its share.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from nodes.flexible.deadline import need
from nodes.flexible.settings import FlexConfig, flexible_configs
from nodes.loads.settings import zone_of
from nodes.planning.inputs import FlexibleLoad


@dataclass(frozen=True, slots=True)
class Placement:
    """One load's need for the plan: ``load`` is None when it has no slot in the horizon."""

    id: str
    deadline: float
    energy_kwh: float
    window_start: float
    load: FlexibleLoad | None
    why: str


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
    needed = need(config, state, now, zone, one_off)
    deadline, begin, end = needed.deadline, max(now, needed.opened), needed.closes
    what, need_kwh = needed.what, needed.energy_kwh
    if state.get("plugged") is False and config.kind == "car":
        begin = max(begin, _next_slot_start(starts, slot_s, now))
    slots = [i for i, s in enumerate(starts) if _inside(s, s + slot_s, begin, end, now)]
    by = datetime.fromtimestamp(deadline, zone).strftime("%a %H:%M")
    if need_kwh <= 1e-6 or not slots:
        why = f"{config.name}: {what} by {by}"
        if not slots:
            horizon_end = starts[-1] + slot_s
            why += ", no slot in the horizon" if end > horizon_end else ", no slot left before then"
        return Placement(config.id, deadline, need_kwh, begin, None, why)
    first, last = slots[0], slots[-1]
    first_start = starts[first]
    share = min(1.0, (first_start + slot_s - now) / slot_s) if first_start < now else 1.0
    horizon_end = starts[-1] + slot_s
    energy = need_kwh
    if end > horizon_end:  # the horizon holds only its share of the window
        energy = need_kwh * (horizon_end - begin) / max(end - begin, 1.0)
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
        first_share=max(share, 1e-3),
    )
    return Placement(config.id, deadline, need_kwh, begin, load, f"{config.name}: {what} by {by}")


def _next_slot_start(starts: Sequence[float], slot_s: float, now: float) -> float:
    later = [s for s in starts if s > now]
    return later[0] if later else now + slot_s


def _inside(start: float, end: float, begin: float, finish: float, now: float) -> bool:
    """A slot that has not ended and whose part still to come lies at least half inside
    [begin, finish) (the slot now counts from now: a plan made late in it still uses it)."""
    rest = end - max(start, now)
    return rest > 0 and min(end, finish) - max(start, begin) >= rest / 2


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
