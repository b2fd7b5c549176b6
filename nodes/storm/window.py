"""When to hold the storm reserve: the window, armed and disarmed with hysteresis.

Arm at the first run of periods at or above the arm probability. Once armed,
the window holds until it has passed or the warnings that armed it were
cancelled or expired, and even then only once the risk has fallen below the
(lower) disarm probability, so a risk hovering around one threshold does not
flap the reserve on and off.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nodes.storm.risk import STORM_CATEGORIES, in_force, warning_window


@dataclass(frozen=True)
class Window:
    start: float
    end: float
    probability: float
    evidence: list[str] = field(default_factory=list)
    #: Products of the warnings that armed it: their cancellation ends the window early.
    warnings: list[str] = field(default_factory=list)


def runs(periods: Sequence[Mapping[str, Any]], threshold: float) -> list[list[Mapping[str, Any]]]:
    """Contiguous runs of periods at or above ``threshold``."""
    found: list[list[Mapping[str, Any]]] = []
    for period in periods:
        if period["p"] < threshold:
            continue
        if found and found[-1][-1]["end"] == period["start"]:
            found[-1].append(period)
        else:
            found.append([period])
    return found


def first_window(
    periods: Sequence[Mapping[str, Any]],
    threshold: float,
    warnings: Iterable[Mapping[str, Any]],
    now: float,
) -> Window | None:
    found = runs(periods, threshold)
    if not found:
        return None
    run = found[0]
    start, end = run[0]["start"], run[-1]["end"]
    return Window(
        start,
        end,
        max(p["p"] for p in run),
        list(dict.fromkeys(e for p in run for e in p["evidence"])),
        [
            w["product"]
            for w in driving(warnings, now)
            if _overlaps(warning_window(w, now), start, end)
        ],
    )


def driving(warnings: Iterable[Mapping[str, Any]], now: float) -> list[Mapping[str, Any]]:
    """Storm warnings for our area in force at ``now``."""
    return [
        w
        for w in warnings
        if w.get("ours") and w.get("category") in STORM_CATEGORIES and in_force(w, now)
    ]


def next_window(
    current: Window | None,
    periods: Sequence[Mapping[str, Any]],
    warnings: Sequence[Mapping[str, Any]] | None,
    now: float,
    arm: float,
    disarm: float,
) -> Window | None:
    """The window in force after this evaluation (None: disarmed).

    ``warnings`` None means no storm reading: nothing says the warnings ended.
    """
    fresh = first_window(periods, arm, warnings or [], now)
    if current is not None and now >= current.end and fresh is None:
        return _hold(current, periods, now, disarm)
    if current is None or now >= current.end:
        return fresh
    if fresh is not None:
        if fresh.start <= current.end and current.start <= fresh.end:
            return _merge(current, fresh)
        return fresh if fresh.start < current.start else current
    if warnings is not None and current.warnings:
        still = {w["product"] for w in driving(warnings, now)}
        if still.isdisjoint(current.warnings):  # cancelled, expired or withdrawn
            return _hold(current, periods, now, disarm)
    return current


def _hold(
    current: Window, periods: Sequence[Mapping[str, Any]], now: float, disarm: float
) -> Window | None:
    """Past its end or its warnings: keep it only while the risk now is still >= disarm."""
    found = runs(periods, disarm)
    if not found or found[0][0]["start"] > now:
        return None
    run = found[0]
    return Window(
        current.start,
        run[-1]["end"],
        max(p["p"] for p in run),
        list(dict.fromkeys(e for p in run for e in p["evidence"])),
        [],
    )


def _merge(a: Window, b: Window) -> Window:
    return Window(
        min(a.start, b.start),
        max(a.end, b.end),
        max(a.probability, b.probability),
        list(dict.fromkeys([*b.evidence, *a.evidence])),
        list(dict.fromkeys([*b.warnings, *a.warnings])),
    )


def _overlaps(window: tuple[float, float], start: float, end: float) -> bool:
    return window[0] < end and window[1] > start
