"""A flexible load's one-off target from Home Assistant: what its controls chose, and the
target it sets.

Per flexible load (site.yaml ``flexible_loads``), HA's number (how much: the car's SOC in
% for a car with ``battery_kwh``, else the energy in kWh) and text (by, ``HH:MM``) choose
a one-off target, kept in the global key ``ha_flexible_targets`` (``{load id: {soc |
energy_kwh, by}}``) so the controls show the same after a restart; until chosen they
show the load's configured target. The load's target switch sets it as the load's
one-off target (``global.flexible_targets``, source ``homeassistant``:
nodes/flexible/one_off.py), due the next time the site's clock reads ``by``, and a
change of the controls while it is on sets it again; OFF cancels it. The switch reads
ON while the load's one-off target is one Home Assistant set and still to come (a
target set from the web API replaces it, and reads OFF). This mirrors the battery's SOC
target (nodes/homeassistant/target.py).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from nodes.flexible import one_off
from nodes.flexible.settings import FlexConfig, flexible_configs

#: Global key of what HA's controls chose, by load id.
CHOSEN_KEY = "ha_flexible_targets"
#: The ``source`` of the one-off targets Home Assistant sets.
SOURCE = "homeassistant"
#: A car's SOC target until chosen, when its configured target is an energy.
DEFAULT_SOC = 0.8
#: The SOC number's range, in %.
SOC_MIN_PCT, SOC_MAX_PCT = 1.0, 100.0
#: The energy number's step, kWh.
ENERGY_STEP_KWH = 0.1
#: The most hours one target's ``by`` can be away (the next time the clock reads it).
HORIZON_H = 24


def configs(settings: Mapping[str, Any]) -> list[FlexConfig]:
    """The site's flexible loads, sorted by id (raises ``InvalidFlexibleLoads``)."""
    found = flexible_configs(settings)
    return [found[load_id] for load_id in sorted(found)]


def uses_soc(config: FlexConfig) -> bool:
    """Whether the target's amount is the car's SOC (%), else the energy (kWh): a car with
    ``battery_kwh``, or any load whose configured target is a SOC (which needs it)."""
    return config.battery_kwh is not None and (
        config.kind == "car" or config.target.soc is not None
    )


def unit(config: FlexConfig) -> str:
    """The amount's topic level: ``soc`` or ``energy``."""
    return "soc" if uses_soc(config) else "energy"


def energy_max_kwh(config: FlexConfig) -> float:
    """The energy number's top: what the load draws at ``max_w`` for a day, whole kWh."""
    return float(math.ceil(config.max_w * HORIZON_H / 1000))


def default_by(config: FlexConfig) -> str:
    """The configured deadline as ``HH:MM`` (``24:00`` reads ``00:00``)."""
    minute = config.target.by_min % (24 * 60)
    return f"{minute // 60:02d}:{minute % 60:02d}"


def chosen(value: Any, config: FlexConfig) -> dict[str, Any]:
    """What the load's controls chose (``global.ha_flexible_targets[id]``): ``{soc, by}``
    or ``{energy_kwh, by}``, the configured target where nothing was chosen, the amount
    kept within the number's range."""
    data = value if isinstance(value, Mapping) else {}
    by = data.get("by") if isinstance(data.get("by"), str) else default_by(config)
    if uses_soc(config):
        soc = _number(data.get("soc"))
        if soc is None:
            soc = config.target.soc if config.target.soc is not None else DEFAULT_SOC
        soc = min(max(soc, SOC_MIN_PCT / 100), SOC_MAX_PCT / 100)
        return {"soc": round(soc, 4), "by": by}
    energy = _number(data.get("energy_kwh"))
    if energy is None:
        energy = config.target.energy_kwh or 0.0
    energy = min(max(energy, 0.0), energy_max_kwh(config))
    return {"energy_kwh": round(energy, 3), "by": by}


def request(choice: Mapping[str, Any]) -> dict[str, Any]:
    """The one-off target request for ``choice`` (``set_target`` takes ``HH:MM`` as the
    next time the clock reads it)."""
    amount = "soc" if "soc" in choice else "energy_kwh"
    return {amount: choice[amount], "by": choice["by"]}


def is_on(targets: Any, load_id: str, now: float) -> bool:
    """Whether the load's one-off target is Home Assistant's and still to come."""
    return one_off.pending(targets, now).get(load_id, {}).get("source") == SOURCE


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)
