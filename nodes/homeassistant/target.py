"""The SOC target from Home Assistant: what its controls chose, and the target it sets.

HA's number (SOC, %), text (by, ``HH:MM``) and hard switch choose a target, kept in
the global key ``ha_soc_target`` (``{soc, by, hard}``) so the controls show the same
after a restart; the target switch sets it as the one-off target Home Assistant
keeps in ``global.soc_targets`` (source ``mqtt``: nodes/planning/one_off.py), due the
next time the site's clock reads ``by``, and a change of the controls while it is on
sets it again. The switch reads ON while that target is still to come.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import tzinfo
from typing import Any

from flowengine import local_iso
from nodes.planning import one_off

#: Global key of what HA's controls chose.
CHOSEN_KEY = "ha_soc_target"
#: The ``source`` of the one-off target Home Assistant sets.
SOURCE = "mqtt"
NAME = "Home Assistant"
DEFAULT_SOC = 0.8
DEFAULT_BY = "16:00"


def chosen(value: Any, low_pct: float, high_pct: float) -> dict[str, Any]:
    """What the controls chose (``global.ha_soc_target``), defaults filled in and the SOC
    kept within the number's range."""
    data = value if isinstance(value, Mapping) else {}
    soc = data.get("soc")
    if isinstance(soc, bool) or not isinstance(soc, int | float) or not math.isfinite(soc):
        soc = DEFAULT_SOC
    soc = min(max(float(soc), low_pct / 100), high_pct / 100)
    by = data.get("by") if isinstance(data.get("by"), str) else DEFAULT_BY
    return {"soc": round(soc, 4), "by": by, "hard": data.get("hard") is True}


def request(choice: Mapping[str, Any], now: float, zone: tzinfo) -> dict[str, Any]:
    """The one-off target request for ``choice``: by the next time the clock reads ``by``."""
    at = one_off.next_at(str(choice["by"]), now, zone)
    return {
        "soc": choice["soc"],
        "by": local_iso(at, zone),
        "hard": bool(choice["hard"]),
        "name": NAME,
    }


def is_on(targets: Any, now: float) -> bool:
    """Whether the target Home Assistant set is still to come."""
    return any(t.get("source") == SOURCE for t in one_off.pending(targets, now))
