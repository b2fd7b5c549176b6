"""How long each load has run in its current run day, as the loads node reports it.

The loads node keeps ``run_today_s`` and ``day_start`` per load in ``global.loads``;
the planner (what is left to plan) and the Loads page read them back through here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nodes.loads.settings import load_configs, zone_of
from nodes.loads.window import day_start_minute, run_day_start


def run_today(loads_record: Any, settings: Mapping[str, Any], now: float) -> dict[str, float]:
    """Seconds each load has run in its current run day, from ``global.loads``.

    A count from a run day that has since ended (its ``day_start`` is not the
    load's run day now) is not today's: it is 0.
    """
    zone = zone_of(settings)
    records = loads_record if isinstance(loads_record, Mapping) else {}
    found: dict[str, float] = {}
    for config in load_configs(settings).values():
        record = records.get(config.id)
        if not isinstance(record, Mapping):
            continue
        seconds, day_start = record.get("run_today_s"), record.get("day_start")
        if isinstance(seconds, int | float) and isinstance(day_start, int | float):
            today = run_day_start(now, zone, day_start_minute(config.window))
            found[config.id] = float(seconds) if day_start == today else 0.0
    return found
