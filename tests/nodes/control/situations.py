"""Builders for control situations: the demo site's settings with a few values changed."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from nodes.control.settings import ControlSettings
from nodes.control.situation import Situation
from powermaster.config import DEFAULTS

BRISBANE = ZoneInfo("Australia/Brisbane")
#: Wednesday 2026-01-14, 15:00 in Brisbane.
WEDNESDAY_3PM = datetime(2026, 1, 14, 15, 0, tzinfo=BRISBANE).timestamp()


def site(**control: Any) -> dict[str, Any]:
    """The default site config with ``control`` keys set."""
    settings = copy.deepcopy(DEFAULTS)
    settings["control"].update(control)
    return settings


def situation(
    now: float = WEDNESDAY_3PM,
    settings: dict[str, Any] | None = None,
    latched: frozenset[str] = frozenset(),
    **parts: Any,
) -> Situation:
    """A sound tick: fresh telemetry at 50 %, no plan, nothing armed, health ok."""
    settings = settings or site()
    telemetry = {
        "soc": 0.5,
        "pv_w": 0.0,
        "load_w": 500.0,
        "timestamp": now,
        "grid_lost": False,
        "battery_temp_c": 25.0,
        "inverter_temp_c": 40.0,
        **parts.pop("telemetry", {}),
    }
    return Situation(
        now=now,
        telemetry=telemetry,
        settings=settings,
        options=ControlSettings.from_settings(settings),
        latched=latched,
        **parts,
    )


def storm_reserve(soc: float, start: float, end: float, armed: bool = True) -> dict[str, Any]:
    return {"armed": armed, "soc": soc, "start": start, "end": end, "reason": "severe storm"}


def plan_slot(now: float, mode: str, **values: Any) -> dict[str, Any]:
    """A plan with one half-hour slot containing ``now``."""
    start = datetime.fromtimestamp(now - now % 1800, ZoneInfo("UTC")).isoformat()
    return {
        "slots": [{"start": start, "mode": mode, "power_w": 0.0, "reason": "planned", **values}]
    }
