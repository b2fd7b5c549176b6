"""The site's loads as the planner's ``DeferrableLoad``s: what is left to run, and where.

The planner reads the ``loads`` section (``nodes.loads``) here; the loads package
never imports the planner (it reads the stored plan's dict form, ``plan_view``).

Each planned load (``normal`` or ``essential`` with a run_time) becomes one
deferrable load over the plan's slots: the run time still to run in its
current run day's window, or, once that window has passed or the run is done,
its full run time in the next day's window. A slot belongs to the window when
at least half of it lies inside (windows on the half-hour fit exactly) and it
has not ended. The next day's run is planned by the plans made that day, so
one occurrence per load is enough. Opportunistic loads are not planned: they
follow the sun.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from nodes.loads.settings import PLANNER_PRIORITY, LoadConfig, load_configs, zone_of
from nodes.loads.window import day_start_minute, next_run_day, occurrence, run_day_start
from nodes.planning.inputs import DeferrableLoad

DEFAULT_SLOT_S = 1800.0


def deferrable_loads(
    settings: Mapping[str, Any],
    slot_starts: Sequence[datetime],
    run_so_far: Mapping[str, float] | None = None,
    now: float | None = None,
) -> list[DeferrableLoad]:
    """Planner inputs for the site's loads over ``slot_starts`` (aware datetimes).

    ``run_so_far``: seconds each load has run in its current run day (see
    ``nodes.loads.run_today``); ``now`` defaults to the first slot's start.
    """
    if not slot_starts:
        return []
    zone = zone_of(settings)
    starts = [s.timestamp() for s in slot_starts]
    slot_s = starts[1] - starts[0] if len(starts) > 1 else DEFAULT_SLOT_S
    at = starts[0] if now is None else now
    found = []
    for config in load_configs(settings).values():
        if not config.planned or config.run_time_s is None:
            continue
        day = run_day_start(at, zone, day_start_minute(config.window))
        begin, end = occurrence(config.window, day, zone)
        left = config.run_time_s - float((run_so_far or {}).get(config.id, 0.0))
        if end <= at or left <= 0:  # this run day's window is over: plan the next one
            begin, end = occurrence(config.window, next_run_day(day, config.window, zone), zone)
            left = config.run_time_s
        slots = [i for i, s in enumerate(starts) if _inside(s, s + slot_s, begin, end, at)]
        if not slots:
            continue
        first, last = slots[0], slots[-1]
        run_slots = min(math.ceil(left / slot_s - 1e-9), last - first + 1)
        found.append(_deferrable(config, run_slots, (first, last)))
    return found


def _inside(start: float, end: float, begin: float, finish: float, now: float) -> bool:
    """A slot that has not ended and lies at least half inside [begin, finish)."""
    return end > now and min(end, finish) - max(start, begin) >= (end - start) / 2


def _deferrable(config: LoadConfig, run_slots: int, window: tuple[int, int]) -> DeferrableLoad:
    return DeferrableLoad(
        name=config.id,
        power_w=config.power_w,
        run_slots=run_slots,
        window=window,
        priority=PLANNER_PRIORITY[config.priority],
    )
