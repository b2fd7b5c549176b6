"""Demand charges ($ per kW of the billing cycle's peak import, in a window): the site
config's ``planner.demand_charges`` as the planner's ``DemandCharge``s.

A rule is ``{price_per_kw, from, to, days, name, peak_so_far_kw}``: ``from`` and ``to``
local times ``"HH:MM"`` in the site's zone (``site.timezone``; ``to`` before ``from`` runs
past midnight, ``"24:00"`` is the day's end), ``days`` as the SOC targets write them
(``mon`` .. ``sun``, ``all``, ``weekdays``, ``weekends`` or a list; default all; an
overnight window belongs to the day it starts on). A slot is in the window when its start
is. ``peak_so_far_kw`` is the peak the cycle has already reached in the window (default
0): the bill is on the cycle's peak, so only import above it costs anything more.

The model gets one column per charge with a slot in the horizon, ``excess_kw >= 0``, one
row per such slot, ``excess_kw >= import_kw[t] - peak_so_far_kw``, and
``price_per_kw * excess_kw`` in the objective: linear, no binaries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from nodes.core.wallclock import DAY_NAMES, parse_days, parse_minute, site_zone
from nodes.planning.inputs import DemandCharge
from nodes.planning.targets import TargetProblem

_CLOCK_TIME = {"type": "string", "pattern": r"^(([01]?\d|2[0-3]):[0-5]\d|24:00)$"}

#: One rule of ``planner.demand_charges`` (the planner section's schema uses it).
CHARGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "description": "names the charge in the plan"},
        "price_per_kw": {
            "type": "number",
            "minimum": 0,
            "description": "$ per kW of the cycle's peak import in the window",
        },
        "from": {**_CLOCK_TIME, "description": "window start, HH:MM local time, quoted"},
        "to": {
            **_CLOCK_TIME,
            "description": "window end, HH:MM local time, quoted; before from: past midnight",
        },
        "days": {
            "description": "mon..sun, or all, weekdays, weekends (default all)",
            "anyOf": [
                {"enum": list(DAY_NAMES)},
                {"type": "array", "items": {"enum": list(DAY_NAMES)}, "minItems": 1},
            ],
        },
        "peak_so_far_kw": {
            "type": "number",
            "minimum": 0,
            "description": "the peak import (kW) the cycle already reached in the window",
        },
    },
    "required": ["price_per_kw", "from", "to"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class ChargeRule:
    """One parsed rule: the window [from_minute, to_minute) of each day in ``days``."""

    price_per_kw: float
    from_minute: int
    to_minute: int
    days: frozenset[int]
    peak_so_far_kw: float = 0.0
    name: str = ""

    def covers(self, at: datetime, zone: tzinfo) -> bool:
        """Whether aware time ``at`` is in the window, in ``zone``."""
        local = at.astimezone(zone)
        minute = local.hour * 60 + local.minute
        weekday = local.weekday()
        if self.from_minute < self.to_minute:
            return weekday in self.days and self.from_minute <= minute < self.to_minute
        if minute >= self.from_minute:
            return weekday in self.days
        return minute < self.to_minute and (local - timedelta(days=1)).weekday() in self.days

    def label(self) -> str:
        def hhmm(minute: int) -> str:
            return f"{minute // 60:02d}:{minute % 60:02d}"

        return self.name or (
            f"${self.price_per_kw:g}/kW {hhmm(self.from_minute)}-{hhmm(self.to_minute)}"
        )


def parse_charge(raw: Mapping[str, Any]) -> ChargeRule:
    """A rule from its config form (schema-valid; ValueError on what the schema cannot see)."""
    start, end = parse_minute(raw["from"]), parse_minute(raw["to"])
    if start == end:
        raise ValueError("a demand charge's window needs from and to to differ")
    return ChargeRule(
        price_per_kw=float(raw["price_per_kw"]),
        from_minute=start,
        to_minute=end,
        days=parse_days(raw.get("days", "all")),
        peak_so_far_kw=float(raw.get("peak_so_far_kw", 0.0)),
        name=str(raw.get("name") or ""),
    )


def charge_problems(
    raw: Sequence[Mapping[str, Any]] | None,
    path: tuple[str | int, ...] = ("planner", "demand_charges"),
) -> list[TargetProblem]:
    """What the schema cannot say about schema-valid rules: an empty window."""
    problems = []
    for i, rule in enumerate(raw or ()):
        where = (*path, i)
        if parse_minute(rule["from"]) == parse_minute(rule["to"]):
            name = "'" + ".".join(str(part) for part in (*where, "to")) + "'"
            problems.append(
                TargetProblem(
                    (*where, "to"),
                    f"{name}: the window from {rule['from']} to {rule['to']} is empty; "
                    'for the whole day write from: "00:00", to: "24:00"',
                )
            )
    return problems


def slot_charges(
    rules: Iterable[ChargeRule], slot_starts: Sequence[datetime], zone: tzinfo
) -> list[DemandCharge]:
    """Each rule as a charge on the slots of the horizon whose start is in its window."""
    return [
        DemandCharge(
            price_per_kw=rule.price_per_kw,
            slots=tuple(t for t, start in enumerate(slot_starts) if rule.covers(start, zone)),
            peak_so_far_kw=rule.peak_so_far_kw,
            name=rule.label(),
        )
        for rule in rules
    ]


def demand_charges(
    settings: Mapping[str, Any], slot_starts: Sequence[datetime]
) -> list[DemandCharge]:
    """The charges of the site config's ``planner.demand_charges`` over the horizon."""
    raw = (settings.get("planner") or {}).get("demand_charges") or ()
    if not raw:
        return []
    zone = site_zone(str((settings.get("site") or {}).get("timezone") or "UTC"))
    return slot_charges([parse_charge(rule) for rule in raw], slot_starts, zone)
