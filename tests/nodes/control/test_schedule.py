"""The weekly schedule: days, windows past midnight, first match wins, in the site's wall time."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from nodes.control.schedule import parse_rules, rule_at
from nodes.core.wallclock import parse_days

SYDNEY = ZoneInfo("Australia/Sydney")


def at(day: int, hhmm: str, zone: ZoneInfo = SYDNEY) -> float:
    """Epoch of ``hhmm`` on January ``day`` 2026 (the 12th is a Monday)."""
    hours, minutes = map(int, hhmm.split(":"))
    return datetime(2026, 1, day, hours, minutes, tzinfo=zone).timestamp()


RULES = parse_rules(
    [
        {
            "days": ["fri"],
            "from": "22:00",
            "to": "06:00",
            "mode": "force_charge",
            "name": "fri night",
        },
        {"days": "weekdays", "from": "16:00", "to": "21:00", "mode": "self_use", "name": "peak"},
        {"days": "weekends", "from": "10:00", "to": "10:00", "mode": "hold", "name": "weekend"},
        {"days": "all", "from": "16:00", "to": "17:00", "mode": "force_discharge", "name": "never"},
    ]
)


def label(now: float) -> str | None:
    rule = rule_at(RULES, now, SYDNEY)
    return rule.label if rule else None


def test_day_groups() -> None:
    assert parse_days("weekdays") == frozenset(range(5))
    assert parse_days(["sat", "Sun"]) == frozenset({5, 6})
    assert parse_days("all") == frozenset(range(7))
    with pytest.raises(ValueError, match="funday"):
        parse_days(["funday"])


def test_first_matching_rule_wins() -> None:
    assert label(at(14, "16:30")) == "peak"  # Wednesday: "never" also covers it, but later
    assert label(at(14, "21:00")) is None  # the window's end is exclusive


def test_a_window_past_midnight_belongs_to_the_day_it_starts() -> None:
    assert label(at(16, "23:00")) == "fri night"  # Friday evening
    assert label(at(17, "05:59")) == "fri night"  # Saturday morning, after Friday
    assert label(at(15, "23:00")) is None  # Thursday evening
    assert label(at(16, "05:00")) is None  # Friday morning follows Thursday


def test_from_equal_to_is_a_whole_day_from_that_time() -> None:
    assert label(at(17, "09:59")) is None  # Saturday before 10:00 (Friday is not listed)
    assert label(at(17, "10:00")) == "weekend"
    assert label(at(18, "09:00")) == "weekend"  # Sunday morning: Saturday's day runs on
    assert label(at(19, "09:59")) == "weekend"  # Monday morning: Sunday's day runs on
    assert label(at(19, "10:00")) is None


def test_wall_time_follows_daylight_saving() -> None:
    # 16:30 in Sydney is 05:30 UTC in January (AEDT) and 06:30 UTC in June (AEST).
    summer = datetime(2026, 1, 14, 5, 30, tzinfo=ZoneInfo("UTC")).timestamp()
    winter = datetime(2026, 6, 17, 6, 30, tzinfo=ZoneInfo("UTC")).timestamp()
    assert label(summer) == label(winter) == "peak"
