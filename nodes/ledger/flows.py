"""One interval's energy from the inverter's cumulative counters, and where it went.

The Fox ESS KH keeps lifetime counters in 0.1 kWh (telemetry ``energy_kwh``: ``pv``,
``grid_import``, ``grid_export``, ``battery_charge``, ``battery_discharge``, ``load``).
The difference of two readings is what flowed in between. The counters say how much
went in and out, not from where to where; :func:`attribute` splits it by the usual
home-energy convention:

1. solar serves the load first:        ``pv_to_load = min(pv, load)``
2. then charges the battery:            ``pv_to_battery = min(pv - pv_to_load, charge)``
3. and the rest is exported:            ``pv_to_grid = pv - pv_to_load - pv_to_battery``
4. charge solar left came from grid:    ``grid_to_battery = charge - pv_to_battery``
5. discharge serves the remaining load: ``battery_to_load = min(discharge, load - pv_to_load)``
6. the rest of the discharge exports:   ``battery_to_grid = discharge - battery_to_load``
7. load nothing else covered is grid:   ``grid_to_load = load - pv_to_load - battery_to_load``

So the split always adds up exactly to pv, load, battery charge and discharge. The grid
counters are then a check: ``grid_to_load + grid_to_battery`` should equal grid_import and
``pv_to_grid + battery_to_grid`` grid_export; the difference (counter rounding, inverter
losses) is reported as :attr:`Flows.import_mismatch_kwh` / :attr:`Flows.export_mismatch_kwh`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields

#: The counter keys, as nodes/foxess/client.py names them in ``energy_kwh``.
COUNTERS = ("pv", "load", "grid_import", "grid_export", "battery_charge", "battery_discharge")

#: Counters are whole tenths of a kWh: anything closer to zero than this is float noise.
_NOISE_KWH = 1e-6

#: What one counter's rounding allows between attributed and metered grid energy.
BALANCE_TOLERANCE_KWH = 0.1


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class CounterError(ValueError):
    """A counter reading is missing or is not a non-negative number."""


@dataclass(frozen=True, slots=True)
class IntervalEnergy:
    """kWh that flowed during one interval; every field >= 0."""

    pv: float
    load: float
    grid_import: float
    grid_export: float
    battery_charge: float
    battery_discharge: float

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise CounterError(f"IntervalEnergy.{f.name}: expected kWh, got {value!r}")
            if not math.isfinite(value) or value < 0:
                raise CounterError(f"IntervalEnergy.{f.name}: must be finite and >= 0, got {value}")


def interval_energy(
    previous: Mapping[str, float], current: Mapping[str, float]
) -> tuple[IntervalEnergy | None, str | None]:
    """The energy between two counter readings: ``(energy, None)``, or ``(None, why)``
    when a counter went backwards (the meter was reset or replaced: the interval is
    unknowable, not negative). Missing or non-numeric counters raise :class:`CounterError`.
    """
    before = _counters(previous, "previous")
    after = _counters(current, "current")
    deltas: dict[str, float] = {}
    backwards: list[str] = []
    for name in COUNTERS:
        delta = after[name] - before[name]
        if delta < -_NOISE_KWH:
            backwards.append(f"{name} {before[name]:g} -> {after[name]:g} kWh")
        deltas[name] = max(delta, 0.0)
    if backwards:
        return None, "counter went backwards (meter reset?): " + ", ".join(backwards)
    return IntervalEnergy(**deltas), None


def _counters(reading: Mapping[str, float], which: str) -> dict[str, float]:
    if not isinstance(reading, Mapping):
        raise CounterError(f"{which} counters: expected a mapping, got {type(reading).__name__}")
    missing = [name for name in COUNTERS if name not in reading]
    if missing:
        raise CounterError(f"{which} counters: missing {', '.join(missing)}")
    values: dict[str, float] = {}
    for name in COUNTERS:
        value = reading[name]
        if not _is_number(value):
            raise CounterError(f"{which} counters: {name} is not a number: {value!r}")
        if value < 0:
            raise CounterError(f"{which} counters: {name} is negative: {value}")
        values[name] = float(value)
    return values


@dataclass(frozen=True, slots=True)
class Flows:
    """Where one interval's energy went (kWh, all >= 0); see the module docstring."""

    pv_to_load: float
    pv_to_battery: float
    pv_to_grid: float
    grid_to_load: float
    grid_to_battery: float
    battery_to_load: float
    battery_to_grid: float
    import_mismatch_kwh: float  # attributed grid import minus the grid_import counter
    export_mismatch_kwh: float  # attributed grid export minus the grid_export counter

    @property
    def balanced(self) -> bool:
        """Whether the grid counters agree with the split within counter rounding."""
        limit = BALANCE_TOLERANCE_KWH + _NOISE_KWH
        return abs(self.import_mismatch_kwh) <= limit and abs(self.export_mismatch_kwh) <= limit

    def as_dict(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def attribute(energy: IntervalEnergy) -> Flows:
    """Split an interval's energy by the convention in the module docstring."""
    pv_to_load = min(energy.pv, energy.load)
    pv_to_battery = min(_nonneg(energy.pv - pv_to_load), energy.battery_charge)
    pv_to_grid = _nonneg(energy.pv - pv_to_load - pv_to_battery)
    grid_to_battery = _nonneg(energy.battery_charge - pv_to_battery)
    battery_to_load = min(energy.battery_discharge, _nonneg(energy.load - pv_to_load))
    battery_to_grid = _nonneg(energy.battery_discharge - battery_to_load)
    grid_to_load = _nonneg(energy.load - pv_to_load - battery_to_load)
    return Flows(
        pv_to_load=pv_to_load,
        pv_to_battery=pv_to_battery,
        pv_to_grid=pv_to_grid,
        grid_to_load=grid_to_load,
        grid_to_battery=grid_to_battery,
        battery_to_load=battery_to_load,
        battery_to_grid=battery_to_grid,
        import_mismatch_kwh=grid_to_load + grid_to_battery - energy.grid_import,
        export_mismatch_kwh=pv_to_grid + battery_to_grid - energy.grid_export,
    )


def _nonneg(kwh: float) -> float:
    """Clamp float noise (and rounding below a counter step) to zero."""
    return kwh if kwh > 0 else 0.0
