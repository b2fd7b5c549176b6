"""Half-hour PV periods from whatever steps or samples a provider gives, summed over sites.

Providers speak in their own time grids: Solcast in constant-power periods that
end at ``period_end``, Forecast.Solar in power samples at irregular moments
(sunrise, whole hours, sunset). Power Master plans in half-hours, so both are
averaged into aligned 30-minute periods ``[start, end)`` here, and the periods of
several roof faces are added up.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

from nodes.inputs.provider import InvalidPayload

SLOT_S = 1800.0
#: P50, P10, P90 in W.
Bands = tuple[float, float, float]


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%MZ")


def average_steps(steps: Iterable[tuple[float, float, Bands]]) -> dict[float, Bands]:
    """Mean power of every half-hour that ``(start, end, bands)`` steps cover completely.

    A half-hour only partly covered is left out rather than guessed; steps that
    overlap are an error, since they would count the same time twice.
    """
    energy: dict[float, list[float]] = {}
    covered: dict[float, float] = {}
    for start, end, bands in steps:
        slot = start - start % SLOT_S
        while slot < end:
            overlap = min(end, slot + SLOT_S) - max(start, slot)
            if overlap > 0:
                sums = energy.setdefault(slot, [0.0, 0.0, 0.0])
                for i, watts in enumerate(bands):
                    sums[i] += watts * overlap
                covered[slot] = covered.get(slot, 0.0) + overlap
            slot += SLOT_S
    result: dict[float, Bands] = {}
    for slot, seconds in covered.items():
        if seconds > SLOT_S + 1e-6:
            raise InvalidPayload(f"periods overlap in the half-hour from {iso(slot)}")
        if seconds > SLOT_S - 1e-6:
            p50, p10, p90 = (e / SLOT_S for e in energy[slot])
            result[slot] = (p50, p10, p90)
    return result


def average_curve(
    segments: Sequence[tuple[float, float, float, float]], start: float, end: float
) -> dict[float, Bands]:
    """Mean power of each half-hour in ``[start, end)`` under a piecewise-linear curve.

    ``segments`` are ``(t0, w0, t1, w1)``: power changes linearly from ``w0`` at
    ``t0`` to ``w1`` at ``t1``; outside every segment the power is zero (night).
    The three bands are equal: such a curve has no spread.
    """
    result: dict[float, Bands] = {}
    slot = start - start % SLOT_S
    while slot < end:
        joules = sum(_area(segment, slot, slot + SLOT_S) for segment in segments)
        watts = joules / SLOT_S
        result[slot] = (watts, watts, watts)
        slot += SLOT_S
    return result


def _area(segment: tuple[float, float, float, float], a: float, b: float) -> float:
    t0, w0, t1, w1 = segment
    x, y = max(a, t0), min(b, t1)
    if y <= x or t1 <= t0:
        return 0.0

    def at(t: float) -> float:
        return w0 + (w1 - w0) * (t - t0) / (t1 - t0)

    return (at(x) + at(y)) / 2 * (y - x)


def sum_sites(sites: Sequence[dict[float, Bands]]) -> list[dict[str, Any]]:
    """The half-hours every site has, with their powers added, in the inputs.md ``pv`` shape.

    Only half-hours all sites cover are kept: two sites fetched a moment apart
    may straddle a period boundary, and a sum with one site missing would read
    as a sudden drop in PV. (Adding P10s gives a slightly pessimistic P10 for the
    total; for roof faces under the same sky the error is small.)
    """
    if not sites:
        return []
    common = set(sites[0]).intersection(*sites[1:])
    periods = []
    for slot in sorted(common):
        p50, p10, p90 = (round(sum(site[slot][i] for site in sites), 1) for i in range(3))
        periods.append(
            {"start": slot, "end": slot + SLOT_S, "p50_w": p50, "p10_w": p10, "p90_w": p90}
        )
    return periods


def require_cover(who: str, periods: list[dict[str, Any]], now: float, hours: float) -> None:
    """Raise InvalidPayload unless ``periods`` run without a gap from now to ``hours`` ahead.

    The half-hour now in progress may be missing (a fetch at 10:29:59 can be
    answered from 10:30); anything more is a forecast the planner cannot use.
    """
    if not periods:
        raise InvalidPayload(f"{who}: no forecast periods from now on")
    first, last = periods[0]["start"], periods[-1]["end"]
    for before, after in pairwise(periods):
        if after["start"] != before["end"]:
            raise InvalidPayload(
                f"{who}: forecast has a gap from {iso(before['end'])} to {iso(after['start'])}"
            )
    until = now + hours * 3600
    if first > now + SLOT_S or last < until:
        raise InvalidPayload(
            f"{who}: forecast covers {iso(first)}..{iso(last)}, "
            f"not now..+{hours:g}h ({iso(now)}..{iso(until)})"
        )
