"""SOC targets by a time ("80 % by 16:00 on weekdays"): the site config's
``planner.soc_targets`` as the planner's ``SocTarget``s.

A rule is ``{soc, by, days, date, hard, shortfall_price, name}``: ``soc`` a fraction,
``by`` a local time ``"HH:MM"`` in the site's zone (``site.timezone``), and either
``days`` (as control's schedule writes them: ``mon`` .. ``sun``, ``all``, ``weekdays``,
``weekends`` or a list; default all) or ``date`` (``"2026-12-08"``: once, that day).
Each time a rule names that falls inside the plan's horizon becomes one target on the
slot that ends at or just before it; a time before the first slot's end (today's 16:00
at 17:00) is past, and one after the horizon's end is the next plan's: both are left
out. A target above soc_max less the control margin (``control.soc_margin``) is clamped
to it, and the plan's result says so (``targets[].clamped``).

``one_off_rule`` makes the rule for "80 % by 16:00 tomorrow" (for the API and Home
Assistant); ``expired`` says when a one-off is over and can be dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

import jsonschema

from nodes.core.wallclock import DAY_NAMES, DAYS, parse_days, parse_minute, site_zone
from nodes.planning.inputs import DEFAULT_SHORTFALL_PRICE, SocTarget

#: How far inside soc_max a target is clamped when control.soc_margin is not set (its
#: default): the control tick stops forcing a charge that far below soc_max.
DEFAULT_SOC_MARGIN = 0.02

_CLOCK_TIME = {"type": "string", "pattern": r"^(([01]?\d|2[0-3]):[0-5]\d|24:00)$"}
_DATE = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}

#: One rule of ``planner.soc_targets`` (the planner section's schema uses it).
RULE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "description": "names the target in the plan"},
        "soc": {
            "type": "number",
            "minimum": 0,
            "maximum": 1,
            "description": "the SOC (a fraction) to have by then; above soc_max less "
            "control.soc_margin it is clamped to that",
        },
        "by": {**_CLOCK_TIME, "description": "HH:MM local time (site.timezone), quoted"},
        "days": {
            "description": "mon..sun, or all, weekdays, weekends (default all); not with date",
            "anyOf": [
                {"enum": list(DAY_NAMES)},
                {"type": "array", "items": {"enum": list(DAY_NAMES)}, "minItems": 1},
            ],
        },
        "date": {**_DATE, "description": 'once, on this local date ("2026-12-08", quoted)'},
        "hard": {
            "type": "boolean",
            "description": "true: a constraint, short only by what the battery cannot reach; "
            "false (default): each kWh short costs shortfall_price",
        },
        "shortfall_price": {
            "type": "number",
            "minimum": 0,
            "description": f"$ per kWh short of a soft target (default {DEFAULT_SHORTFALL_PRICE})",
        },
    },
    "required": ["soc", "by"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class TargetRule:
    """One parsed rule: ``soc`` by minute ``by_minute`` of each day in ``days`` (0 =
    Monday), or of the day ``on`` only (the config's ``date``) when it is set."""

    soc: float
    by_minute: int
    days: frozenset[int]
    on: date | None = None
    hard: bool = False
    shortfall_price: float = DEFAULT_SHORTFALL_PRICE
    name: str = ""

    def times(self, begin: datetime, end: datetime, zone: tzinfo) -> list[datetime]:
        """Each time in [begin, end] this rule asks for its SOC, as aware datetimes."""
        first = begin.astimezone(zone).date() - timedelta(days=1)
        last = end.astimezone(zone).date()
        dates = [self.on] if self.on is not None else _dates(first, last, self.days)
        found = []
        for day in dates:
            midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
            # Aware + timedelta is wall-clock arithmetic: "16:00" is 16:00 local on a
            # day the clocks change too ("24:00" is the next midnight).
            at = midnight + timedelta(minutes=self.by_minute)
            if begin <= at <= end:
                found.append(at)
        return found

    def label(self) -> str:
        when = self.on.isoformat() if self.on is not None else _days_text(self.days)
        by = f"{self.by_minute // 60:02d}:{self.by_minute % 60:02d}"
        return self.name or f"{self.soc:.0%} by {by} {when}"


def _dates(first: date, last: date, days: frozenset[int]) -> list[date]:
    out, day = [], first
    while day <= last:
        if day.weekday() in days:
            out.append(day)
        day += timedelta(days=1)
    return out


def _days_text(days: frozenset[int]) -> str:
    if len(days) == len(DAYS):
        return "daily"
    return ",".join(DAYS[d] for d in sorted(days))


def parse_rule(raw: Mapping[str, Any]) -> TargetRule:
    """A rule from its config form (schema-valid; ValueError on what the schema cannot see)."""
    on = raw.get("date")
    if on is not None and "days" in raw:
        raise ValueError("a target takes days or date, not both")
    if raw.get("hard") and "shortfall_price" in raw:
        raise ValueError("shortfall_price is for soft targets: a hard one is held where it can be")
    return TargetRule(
        soc=float(raw["soc"]),
        by_minute=parse_minute(raw["by"]),
        days=parse_days(raw.get("days", "all")),
        on=None if on is None else _date(on),
        hard=bool(raw.get("hard", False)),
        shortfall_price=float(raw.get("shortfall_price", DEFAULT_SHORTFALL_PRICE)),
        name=str(raw.get("name") or ""),
    )


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def parse_rules(raw: Iterable[Mapping[str, Any]] | None) -> tuple[TargetRule, ...]:
    return tuple(parse_rule(rule) for rule in raw or ())


@dataclass(frozen=True)
class TargetProblem:
    """One thing wrong with a SOC target rule, at a path into the site config (the
    message names it too: a check's problem is shown with a line, not a path)."""

    path: tuple[str | int, ...]
    message: str

    def __str__(self) -> str:
        return self.message


def rule_problems(
    raw: Sequence[Mapping[str, Any]] | None,
    path: tuple[str | int, ...] = ("planner", "soc_targets"),
) -> list[TargetProblem]:
    """What the schema cannot say about schema-valid rules: days and date together, a date
    that is no date, a shortfall price on a hard target (each at the key at fault)."""
    problems = []
    for i, rule in enumerate(raw or ()):
        where = (*path, i)
        if "date" in rule and "days" in rule:
            problems.append(
                TargetProblem((*where, "days"), f"{_name(where)} takes days or a date, not both")
            )
        if "date" in rule:
            try:
                _date(rule["date"])
            except ValueError as exc:
                problems.append(TargetProblem((*where, "date"), f"{_name(where, 'date')}: {exc}"))
        if rule.get("hard") and "shortfall_price" in rule:
            problems.append(
                TargetProblem(
                    (*where, "shortfall_price"),
                    f"{_name(where, 'shortfall_price')}: shortfall_price is for soft targets "
                    "(hard: false); a hard target is held wherever the battery can reach it",
                )
            )
    return problems


def _name(path: tuple[str | int, ...], *more: str) -> str:
    return "'" + ".".join(str(part) for part in (*path, *more)) + "'"


def lapsed_problems(
    raw: Sequence[Mapping[str, Any]] | None,
    now: float,
    zone: tzinfo,
    path: tuple[str | int, ...] = ("planner", "soc_targets"),
) -> list[TargetProblem]:
    """One-off rules (``date``) whose time is before epoch ``now``: they will never set a
    target, so a check that knows the time says so at their ``date`` instead of leaving
    them out of every plan without a word. (Loading the files at start does not ask: a
    target that lapsed while the service ran is no reason to refuse them.)"""
    problems = []
    for i, rule in enumerate(raw or ()):
        if "date" not in rule or rule_problems([rule], ()):
            continue
        if expired(rule, now, zone):
            where = (*path, i)
            problems.append(
                TargetProblem(
                    (*where, "date"),
                    f"{_name(where, 'date')}: {rule['date']} {rule['by']} has passed, so this "
                    "target sets nothing: remove it or give a date still to come",
                )
            )
    return problems


def check_planner(data: Mapping[str, Any]) -> list[TargetProblem]:
    """The planner section's check (a whole, schema-valid site config)."""
    return rule_problems((data.get("planner") or {}).get("soc_targets"))


def slot_targets(
    rules: Iterable[TargetRule],
    slot_starts: Sequence[datetime],
    slot_hours: float,
    zone: tzinfo,
    soc_ceiling: float = 1.0,
) -> list[SocTarget]:
    """The targets ``rules`` set over a horizon of slots starting at ``slot_starts``
    (each ``slot_hours`` long), each on the last slot that ends at or before its time,
    its SOC clamped to ``soc_ceiling``; times before the first slot's end or after the
    last's are left out."""
    if not slot_starts:
        return []
    step = timedelta(hours=slot_hours)
    ends = [start.astimezone(UTC) + step for start in slot_starts]  # elapsed, not wall, time
    found = []
    for rule in rules:
        for at in rule.times(ends[0], ends[-1], zone):
            slot = max(i for i, end in enumerate(ends) if end <= at)
            found.append(
                SocTarget(
                    slot=slot,
                    soc=min(rule.soc, soc_ceiling),
                    hard=rule.hard,
                    shortfall_price=rule.shortfall_price,
                    by=at,
                    requested_soc=rule.soc,
                    name=rule.label(),
                )
            )
    return sorted(found, key=lambda target: (target.slot, -target.soc))


def soc_targets(
    settings: Mapping[str, Any],
    slot_starts: Sequence[datetime],
    slot_hours: float,
    extra: Iterable[Mapping[str, Any]] = (),
) -> list[SocTarget]:
    """The targets of the site config's ``planner.soc_targets`` (and ``extra`` rules in
    the same form, e.g. one-offs the API holds) over the horizon, in the site's zone,
    clamped to soc_max less control.soc_margin."""
    raw = [*((settings.get("planner") or {}).get("soc_targets") or ()), *extra]
    if not raw:
        return []
    zone = site_zone(str((settings.get("site") or {}).get("timezone") or "UTC"))
    return slot_targets(parse_rules(raw), slot_starts, slot_hours, zone, soc_ceiling(settings))


def soc_ceiling(settings: Mapping[str, Any]) -> float:
    """The highest SOC a target may ask for: battery.soc_max less control.soc_margin."""
    soc_max = float((settings.get("battery") or {}).get("soc_max", 1.0))
    margin = float((settings.get("control") or {}).get("soc_margin", DEFAULT_SOC_MARGIN))
    return max(0.0, soc_max - margin)


def one_off_rule(
    soc: float,
    by: datetime,
    zone: tzinfo,
    *,
    hard: bool = False,
    shortfall_price: float | None = None,
    name: str = "",
) -> dict[str, Any]:
    """The ``planner.soc_targets`` rule for "``soc`` by ``by``" (an aware time; its local
    minute in ``zone`` is kept, so a time between minutes rounds down), e.g. for the API's
    "80 % by 16:00 tomorrow". Checked as the site config would be: ValueError if not."""
    if by.tzinfo is None:
        raise ValueError("by must be timezone-aware")
    local = by.astimezone(zone)
    rule: dict[str, Any] = {
        "soc": soc,
        "by": f"{local.hour:02d}:{local.minute:02d}",
        "date": local.date().isoformat(),
    }
    if hard:
        rule["hard"] = True
    if shortfall_price is not None:
        rule["shortfall_price"] = shortfall_price
    if name:
        rule["name"] = name
    _validate(rule)
    return rule


def _validate(rule: Mapping[str, Any]) -> None:
    try:
        jsonschema.validate(rule, RULE_SCHEMA)
    except jsonschema.ValidationError as exc:
        where = ".".join(str(part) for part in exc.absolute_path)
        raise ValueError(f"bad SOC target: {where + ': ' if where else ''}{exc.message}") from None
    problems = rule_problems([rule], ())
    if problems:
        raise ValueError(f"bad SOC target: {problems[0]}")


def expired(raw: Mapping[str, Any], now: float, zone: tzinfo) -> bool:
    """Whether a one-off rule's (``date``) time is before epoch ``now``: it will never
    set a target again. A weekly rule never expires."""
    rule = parse_rule(raw)
    if rule.on is None:
        return False
    midnight = datetime(rule.on.year, rule.on.month, rule.on.day, tzinfo=zone)
    return (midnight + timedelta(minutes=rule.by_minute)).timestamp() < now
