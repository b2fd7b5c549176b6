"""How a household's load follows the outdoor temperature: a cooling and a heating term.

Each degree above ``COOL_FROM`` (air conditioning) and each degree below
``HEAT_BELOW`` (heating) adds its own watts. How many is learned from the site's
history where it has temperatures: the load's departure from the mean of its slot
of the day and day type, regressed on the degrees' departure from theirs (ridge,
never negative, capped). The predictor takes the term out of the history before
it builds its profile and puts it back for the slots it predicts, at their
forecast temperatures. A slot without a temperature is taken to have the degrees
typical of its time of day. With under a week of history temperatures, or none
that vary, there is no term.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

COOL_FROM = 24.0  # °C
HEAT_BELOW = 18.0  # °C
#: Degree² of shrinkage: a few hot afternoons say less than a hot month.
RIDGE = 100.0
MAX_W_PER_DEGREE = 1000.0
MIN_SAMPLES = 7 * 48


def degrees(temperature_c: float) -> tuple[float, float]:
    """(cooling, heating) degrees of one temperature."""
    return max(0.0, temperature_c - COOL_FROM), max(0.0, HEAT_BELOW - temperature_c)


@dataclass(frozen=True, slots=True)
class Sample:
    """One past half hour: its slot of the day, day type (weekend or holiday), load, °C."""

    slot_of_day: int
    rest_day: bool
    load_w: float
    temperature_c: float


@dataclass(frozen=True, slots=True)
class TemperatureTerm:
    cool_w_per_degree: float
    heat_w_per_degree: float
    #: Slot of the day -> the mean (cooling, heating) degrees of the samples there.
    typical: Mapping[int, tuple[float, float]]

    def watts(self, slot_of_day: int, temperature_c: float | None) -> float:
        """The load the temperature makes in a slot (the typical degrees when unknown)."""
        if temperature_c is None:
            cool, heat = self.typical.get(slot_of_day, (0.0, 0.0))
        else:
            cool, heat = degrees(temperature_c)
        return self.cool_w_per_degree * cool + self.heat_w_per_degree * heat


def fit_temperature(samples: Sequence[Sample]) -> TemperatureTerm | None:
    """The term learned from ``samples``; None with too few or no temperatures that vary."""
    if len(samples) < MIN_SAMPLES:
        return None
    groups: dict[tuple[int, bool], list[Sample]] = {}
    for s in samples:
        groups.setdefault((s.slot_of_day, s.rest_day), []).append(s)
    scc = shh = sch = scr = shr = 0.0
    for group in groups.values():
        n = len(group)
        mean_load = sum(s.load_w for s in group) / n
        cool_heat = [degrees(s.temperature_c) for s in group]
        mean_cool = sum(c for c, _ in cool_heat) / n
        mean_heat = sum(h for _, h in cool_heat) / n
        for s, (c, h) in zip(group, cool_heat, strict=True):
            dc, dh, r = c - mean_cool, h - mean_heat, s.load_w - mean_load
            scc, shh, sch = scc + dc * dc, shh + dh * dh, sch + dc * dh
            scr, shr = scr + dc * r, shr + dh * r
    if scc + shh == 0:
        return None
    cool, heat = _ridge(scc, shh, sch, scr, shr)
    if cool == 0 and heat == 0:
        return None
    return TemperatureTerm(cool, heat, _typical(samples))


def _ridge(scc: float, shh: float, sch: float, scr: float, shr: float) -> tuple[float, float]:
    """Both slopes by ridge least squares; a negative one is dropped and the other refitted."""
    a, d = scc + RIDGE, shh + RIDGE
    det = a * d - sch * sch
    cool, heat = (d * scr - sch * shr) / det, (a * shr - sch * scr) / det
    if cool < 0:
        cool, heat = 0.0, max(0.0, shr / d)
    elif heat < 0:
        cool, heat = max(0.0, scr / a), 0.0
    return min(cool, MAX_W_PER_DEGREE), min(heat, MAX_W_PER_DEGREE)


def _typical(samples: Sequence[Sample]) -> dict[int, tuple[float, float]]:
    sums: dict[int, list[float]] = {}
    for s in samples:
        cool, heat = degrees(s.temperature_c)
        acc = sums.setdefault(s.slot_of_day, [0.0, 0.0, 0.0])
        acc[0] += 1
        acc[1] += cool
        acc[2] += heat
    return {k: (c / n, h / n) for k, (n, c, h) in sums.items()}
