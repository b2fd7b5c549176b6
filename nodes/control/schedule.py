"""The weekly mode schedule (site config ``control.schedule``), in the site's wall time.

A rule is ``{days, from, to, mode, power_w, export_limit_w, name}``. ``days`` is a
list of ``mon`` .. ``sun`` or one of ``all``, ``weekdays``, ``weekends``; a window
whose ``to`` is not after its ``from`` runs past midnight and belongs to the day
it starts on (``from == to`` is a whole day). The first rule that matches wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from nodes.core.wallclock import MINUTES_PER_DAY, covers, parse_days, parse_minute


@dataclass(frozen=True, slots=True)
class Rule:
    days: frozenset[int]  # 0 = Monday, as datetime.weekday()
    start_min: int
    end_min: int
    mode: str
    power_w: float | None
    export_limit_w: float | None
    label: str

    def covers(self, weekday: int, minute: int) -> bool:
        """Whether the wall-clock ``minute`` of day ``weekday`` falls in this rule."""
        return covers(self.days, self.start_min, self.end_min, weekday, minute)


def parse_rule(raw: Mapping[str, Any]) -> Rule:
    start, end = parse_minute(raw["from"]), parse_minute(raw["to"])
    power = raw.get("power_w")
    limit = raw.get("export_limit_w")
    label = raw.get("name") or f"{raw['from']}-{raw['to']} {raw['mode']}"
    return Rule(
        days=parse_days(raw.get("days", "all")),
        start_min=start % MINUTES_PER_DAY,
        end_min=end if end == MINUTES_PER_DAY else end % MINUTES_PER_DAY,
        mode=str(raw["mode"]),
        power_w=None if power is None else float(power),
        export_limit_w=None if limit is None else float(limit),
        label=str(label),
    )


def parse_rules(raw: Iterable[Mapping[str, Any]]) -> tuple[Rule, ...]:
    return tuple(parse_rule(rule) for rule in raw or ())


def rule_at(rules: Iterable[Rule], now: float, zone: tzinfo) -> Rule | None:
    """The first rule covering epoch ``now`` in wall time ``zone``."""
    local = datetime.fromtimestamp(now, zone)
    minute = local.hour * 60 + local.minute
    return next((rule for rule in rules if rule.covers(local.weekday(), minute)), None)
