"""What the plan must hold: the slots under the manual override in force, under overrides
set ahead (``global.planned_overrides``) and under the weekly schedule's rules
(``control.schedule``), each as the control tick will run it (the hierarchy puts
overrides and the schedule above the plan), so the plan plans around them instead of
against them (``PlanOptions.overridden``).

A slot the window covers in part is held at its average for a forced charge or
discharge (the power times the part covered), and for a hold or self-use (which
have no average to give) where it covers at least half. An override set ahead
replaces the one in force when its window opens (nodes/control/planned.py), so the
one in force is held only until then; the schedule holds the slots no override does,
its first matching rule winning as in the control tick.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from nodes.core.wallclock import MINUTES_PER_DAY, covers, parse_days, parse_minute, site_zone
from nodes.planning.inputs import MODES

FORCED = ("force_charge", "force_discharge")


@dataclass(frozen=True)
class Held:
    """A slot held: the mode and battery power (W, + charging) it runs at, and by what."""

    mode: str
    battery_w: float
    by: str

    def as_option(self) -> tuple[str, float]:
        """The slot's entry in ``PlanOptions.overridden``."""
        return (self.mode, self.battery_w)


@dataclass(frozen=True)
class Window:
    """A mode and power over [start, end) in epoch seconds (an override's window)."""

    mode: str
    power_w: float | None
    start: float
    end: float
    by: str


def held_slots(
    settings: Mapping[str, Any],
    starts: Sequence[float],
    step: float,
    pv_w: Sequence[float],
    load_w: Sequence[float],
    now: float,
    override: Mapping[str, Any] | None = None,
    planned: Iterable[Mapping[str, Any]] = (),
    schedule: bool = True,
) -> list[Held | None]:
    """Per slot (starting at epochs ``starts``, ``step`` seconds each, with the PV and
    load it is planned on), what holds it: the override in force (``global.override``),
    the overrides set ahead, the schedule's rules (``schedule``); None where nothing does."""
    zone = site_zone(str((settings.get("site") or {}).get("timezone") or "UTC"))
    ahead = [w for w in (_window(o, now, zone) for o in planned) if w]
    windows = sorted(ahead, key=lambda w: w.start)
    now_window = _window(override, now, zone, ahead=False) if override else None
    if now_window is not None:
        cut = min([now_window.end, *(w.start for w in ahead if w.start > now)])
        if cut > now_window.start:
            windows.append(
                Window(now_window.mode, now_window.power_w, now_window.start, cut, "override")
            )
    battery = settings["battery"]
    rules = _schedule(settings) if schedule else []
    found: list[Held | None] = []
    for start, pv, load in zip(starts, pv_w, load_w, strict=True):
        slot = {"pv_w": pv, "load_w": load}
        held = None
        for w in windows:
            part = max(0.0, min(start + step, w.end) - max(start, w.start, now)) / step
            held = _held(w.mode, w.power_w, slot, battery, part, w.by)
            if held is not None:
                break
        if held is None and rules:
            held = _by_schedule(rules, start, step, slot, battery, zone)
        found.append(held)
    return found


def override_battery_w(
    mode: str, power_w: float | None, slot: Mapping[str, Any], battery: Mapping[str, Any]
) -> float:
    """The battery power (+ charging) ``mode`` at ``power_w`` (None: the battery's full
    power) holds in ``slot``: what the control tick commands, within the battery's limits."""
    charge, discharge = float(battery["max_charge_w"]), float(battery["max_discharge_w"])
    if mode == "force_charge":
        return charge if power_w is None else min(abs(power_w), charge)
    if mode == "force_discharge":
        return -discharge if power_w is None else -min(abs(power_w), discharge)
    if mode == "hold":
        return 0.0
    surplus = float(slot.get("pv_w") or 0.0) - float(slot.get("load_w") or 0.0)  # self-use
    if mode == "self_use_zero_export":
        surplus = max(surplus, -discharge)
    return max(-discharge, min(charge, surplus))


def held_power(
    mode: str,
    power_w: float | None,
    slot: Mapping[str, Any],
    battery: Mapping[str, Any],
    part: float,
) -> float | None:
    """The slot's battery power under ``mode`` covering ``part`` of it (None: not held)."""
    forced = mode in FORCED
    if part <= 0 or (not forced and part < 0.5):
        return None
    held = override_battery_w(mode, power_w, slot, battery)
    return held * part if forced else held


def _held(
    mode: str,
    power_w: float | None,
    slot: Mapping[str, Any],
    battery: Mapping[str, Any],
    part: float,
    by: str,
) -> Held | None:
    power = held_power(mode, power_w, slot, battery, part)
    return None if power is None else Held(mode, power, by)


def _window(
    override: Mapping[str, Any] | None, now: float, zone: tzinfo, ahead: bool = True
) -> Window | None:
    """An override's window from ``now`` on (None: malformed, or over); ``ahead``: one
    set ahead, named by when it starts."""
    if not isinstance(override, Mapping) or override.get("mode") not in MODES:
        return None
    until = _number(override.get("until"))
    begin = _number(override.get("from"))
    start = now if begin is None else max(now, begin)
    if until is None or until <= start:
        return None
    label = "override"
    if ahead and begin is not None:
        at = datetime.fromtimestamp(begin, zone).strftime("%a %H:%M")
        label = f"override set ahead (from {at})"
    return Window(str(override["mode"]), _number(override.get("power_w")), start, until, label)


@dataclass(frozen=True)
class _Rule:
    days: frozenset[int]
    start_min: int
    end_min: int
    mode: str
    power_w: float | None
    label: str


def _schedule(settings: Mapping[str, Any]) -> list[_Rule]:
    """``control.schedule``'s rules (schema-valid), as the control tick reads them."""
    found = []
    for raw in (settings.get("control") or {}).get("schedule") or ():
        if raw.get("mode") not in MODES:
            continue
        end = parse_minute(raw["to"])
        found.append(
            _Rule(
                days=parse_days(raw.get("days", "all")),
                start_min=parse_minute(raw["from"]) % MINUTES_PER_DAY,
                end_min=end if end == MINUTES_PER_DAY else end % MINUTES_PER_DAY,
                mode=str(raw["mode"]),
                power_w=_number(raw.get("power_w")),
                label=f"schedule rule {raw.get('name') or raw['from'] + '-' + raw['to']!r}",
            )
        )
    return found


def _by_schedule(
    rules: list[_Rule],
    start: float,
    step: float,
    slot: Mapping[str, Any],
    battery: Mapping[str, Any],
    zone: tzinfo,
) -> Held | None:
    """The rule that covers most of the slot, minute by minute in the site's wall time
    (the first matching rule wins each minute, as in the control tick)."""
    minutes = max(1, round(step / 60))
    counts: dict[int, int] = {}
    for i in range(minutes):
        local = datetime.fromtimestamp(start + i * 60, zone)
        minute = local.hour * 60 + local.minute
        for index, rule in enumerate(rules):
            if covers(rule.days, rule.start_min, rule.end_min, local.weekday(), minute):
                counts[index] = counts.get(index, 0) + 1
                break
    if not counts:
        return None
    index = max(counts, key=lambda i: (counts[i], -i))
    rule = rules[index]
    return _held(rule.mode, rule.power_w, slot, battery, counts[index] / minutes, rule.label)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)
