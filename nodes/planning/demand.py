"""Demand charges ($ per kW of the billing cycle's peak import, in a window): the site
config's ``planner.demand_charges`` as the planner's ``DemandCharge``s.

A rule is ``{price_per_kw, from, to, days, name, peak_so_far_kw}``: ``from`` and ``to``
local times ``"HH:MM"`` in the site's zone (``site.timezone``; ``to`` before ``from`` runs
past midnight, ``"24:00"`` is the day's end), ``days`` as the SOC targets write them
(``mon`` .. ``sun``, ``all``, ``weekdays``, ``weekends`` or a list; default all; an
overnight window belongs to the day it starts on). A slot is in the window when its start
is. ``peak_so_far_kw`` is the peak the cycle has already reached in the window (default
0): the bill is on the cycle's peak, so only import above it costs anything more. With
the site database at hand (``cycle_peaks``) the peak is also read from the recorded
history: the highest 30-minute average grid import of a recorded slot whose start is in
the window, since the current billing cycle's start (``billing.start_day``, local
midnight) and before now. The charge uses the higher of the two, and says which
(``peak_source``: ``"history"`` when the records are above the config's, else ``"config"``).

The model gets one column per charge with a slot in the horizon, ``excess_kw >= 0``, one
row per such slot, ``excess_kw >= import_kw[t] - peak_so_far_kw``, and
``price_per_kw * excess_kw`` in the objective: linear, no binaries.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from nodes.core.wallclock import DAY_NAMES, parse_days, parse_minute, site_zone
from nodes.ledger.billing import cycle_bounds
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
    rules: Iterable[ChargeRule],
    slot_starts: Sequence[datetime],
    zone: tzinfo,
    recorded: Sequence[float | None] = (),
) -> list[DemandCharge]:
    """Each rule as a charge on the slots of the horizon whose start is in its window;
    ``recorded``: each rule's peak (kW) in the history this cycle (None: no record), the
    charge's peak so far where it is above the rule's ``peak_so_far_kw``."""
    charges = []
    for i, rule in enumerate(rules):
        seen = recorded[i] if i < len(recorded) else None
        from_history = seen is not None and seen > rule.peak_so_far_kw
        charges.append(
            DemandCharge(
                price_per_kw=rule.price_per_kw,
                slots=tuple(t for t, start in enumerate(slot_starts) if rule.covers(start, zone)),
                peak_so_far_kw=seen if from_history and seen is not None else rule.peak_so_far_kw,
                name=rule.label(),
                peak_source="history" if from_history else "config",
            )
        )
    return charges


def demand_charges(
    settings: Mapping[str, Any],
    slot_starts: Sequence[datetime],
    recorded: Sequence[float | None] = (),
) -> list[DemandCharge]:
    """The charges of the site config's ``planner.demand_charges`` over the horizon;
    ``recorded``: each rule's peak so far in the site's history (``cycle_peaks``)."""
    raw = (settings.get("planner") or {}).get("demand_charges") or ()
    if not raw:
        return []
    zone = site_zone(str((settings.get("site") or {}).get("timezone") or "UTC"))
    return slot_charges([parse_charge(rule) for rule in raw], slot_starts, zone, recorded)


#: Each recorded slot's average grid import (W): the metered import energy over the time
#: metered where the inverter's counters are, else the mean of the sampled grid power.
_SLOT_IMPORTS = (
    "SELECT slot_start, CASE WHEN grid_import_kwh IS NOT NULL AND metered_s > 0 "
    "THEN grid_import_kwh * 3600000.0 / metered_s ELSE grid_w END "
    "FROM history_30min WHERE source = 'recorded' AND slot_start >= ? AND slot_start < ?"
)


def cycle_peaks(
    db: sqlite3.Connection, settings: Mapping[str, Any], now: float
) -> list[float | None]:
    """Each rule of ``planner.demand_charges``: the highest 30-minute average grid import
    (kW) of the recorded slots in its window since the billing cycle holding ``now`` began
    (None without such a slot, or without a history in ``db``). Only reads."""
    raw = (settings.get("planner") or {}).get("demand_charges") or ()
    if not raw:
        return []
    tz_name = str((settings.get("site") or {}).get("timezone") or "UTC")
    zone = site_zone(tz_name)
    start_day = int((settings.get("billing") or {}).get("start_day", 1))
    since, _ = cycle_bounds(now, start_day, zone)
    try:
        rows = db.execute(_SLOT_IMPORTS, (since, now)).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc) or "no such column" in str(exc):
            return [None] * len(raw)  # nothing recorded in this database yet
        raise
    slots = [
        (datetime.fromtimestamp(start, zone), max(0.0, float(w)) / 1000.0)
        for start, w in rows
        if w is not None
    ]
    peaks: list[float | None] = []
    for rule in (parse_charge(r) for r in raw):
        inside = [kw for at, kw in slots if rule.covers(at, zone)]
        peaks.append(round(max(inside), 6) if inside else None)
    return peaks
