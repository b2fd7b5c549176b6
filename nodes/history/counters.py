"""Energy from the inverter's cumulative counters, spread over the slots it fell in.

Two samples' counter readings say how much flowed between them, not when: the
difference is spread evenly over the time between the samples, and each slot
gets the share that overlaps it. With the control tick's 5-minute samples on
:00, :05... nothing crosses a slot boundary and the spreading is exact.

An interval is left out (its energy unknown, its time not *metered*) when a
counter is missing on either side, when one went backwards (the meter was reset
or replaced: the energy is unknowable, never negative; the ledger treats it the
same way), or when the samples are further apart than ``gap_after`` (after an
outage the counters say how much, but not in which slot or day).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

from nodes.history.schema import COUNTERS

#: Counters are whole tenths of a kWh: a step back smaller than this is float noise.
_NOISE_KWH = 1e-6


def counter_values(energy_kwh: object) -> dict[str, float] | None:
    """The six counters of a telemetry ``energy_kwh``, leaving out any absent or unusable
    (None when none is usable)."""
    if not isinstance(energy_kwh, Mapping):
        return None
    values: dict[str, float] = {}
    for name in COUNTERS:
        value = energy_kwh.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if math.isfinite(value) and value >= 0:
            values[name] = float(value)
    return values or None


@dataclass(frozen=True, slots=True)
class CounterReading:
    """One sample's time and counters (None where it had none)."""

    at: float
    counters: Mapping[str, float | None]


@dataclass(slots=True)
class SlotEnergy:
    """kWh per counter that fell in one slot, and the seconds of it they account for."""

    kwh: dict[str, float]
    metered_s: float = 0.0

    def as_columns(self) -> dict[str, float | None]:
        """The roll-up's energy columns: None throughout when nothing was metered."""
        known = self.metered_s > 0
        columns: dict[str, float | None] = {
            f"{name}_kwh": round(self.kwh[name], 4) if known else None for name in COUNTERS
        }
        columns["metered_s"] = round(self.metered_s, 3)
        return columns


def interval_kwh(
    before: CounterReading, after: CounterReading, gap_after_s: float
) -> dict[str, float] | None:
    """What flowed between two readings, or None when it is unknown (see the module doc)."""
    if after.at - before.at > gap_after_s or after.at <= before.at:
        return None
    deltas: dict[str, float] = {}
    for name in COUNTERS:
        start, end = before.counters.get(name), after.counters.get(name)
        if start is None or end is None or end - start < -_NOISE_KWH:
            return None
        deltas[name] = max(end - start, 0.0)
    return deltas


def spread(
    readings: Sequence[CounterReading], slots: Iterable[tuple[float, float]], gap_after_s: float
) -> list[SlotEnergy]:
    """The energy of each ``[start, end)`` window, from ``readings`` sorted by time.

    The readings must reach from the last one before the first window to the first
    one at or after the last window's end, or the windows' edges go unmetered.
    """
    windows = list(slots)
    out = [SlotEnergy(dict.fromkeys(COUNTERS, 0.0)) for _ in windows]
    for before, after in pairwise(readings):
        deltas = interval_kwh(before, after, gap_after_s)
        if deltas is None:
            continue
        length = after.at - before.at
        for (lo, hi), energy in zip(windows, out, strict=True):
            overlap = min(hi, after.at) - max(lo, before.at)
            if overlap <= 0:
                continue
            energy.metered_s += overlap
            for name, kwh in deltas.items():
                energy.kwh[name] += kwh * overlap / length
    return out
