"""One-off SOC targets kept in global.soc_targets: set, listed, cancelled, dropped once
past, and refused field by field (a time already past among them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from flowengine import VirtualClock, open_database
from flowengine.context import GLOBAL, ContextStore
from nodes.planning import one_off
from nodes.planning.one_off import InvalidTarget, add_target, cancel_target, next_at, pending

BRISBANE = ZoneInfo("Australia/Brisbane")  # UTC+10, no daylight saving
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=BRISBANE).timestamp()  # Thursday noon
SETTINGS = {"site": {"timezone": "Australia/Brisbane"}}


@pytest.fixture
def context() -> ContextStore:
    return ContextStore(open_database(":memory:"), VirtualClock(NOW))


def at(day: int, hour: int, minute: int = 0) -> float:
    return datetime(2026, 1, day, hour, minute, tzinfo=BRISBANE).timestamp()


def stored(context: ContextStore) -> Any:
    return context.get(GLOBAL, one_off.TARGETS_KEY)


def test_a_target_by_a_time_today_is_kept_as_the_rule_it_stands_for(context: ContextStore) -> None:
    target = add_target(context, NOW, SETTINGS, {"soc": 0.8, "by": "16:00"}, "api")
    assert target == {
        "id": target["id"],
        "soc": 0.8,
        "by": "16:00",
        "date": "2026-01-15",
        "name": "one-off",  # what the plan calls it, given no name
        "at": at(15, 16),
        "source": "api",
        "set_at": NOW,
    }
    assert stored(context) == [target]
    assert one_off.rules(stored(context), NOW) == [
        {"soc": 0.8, "by": "16:00", "date": "2026-01-15", "name": "one-off"}
    ]


def test_tomorrow_a_date_or_a_time_with_its_offset(context: ContextStore) -> None:
    request = {"soc": 0.6, "by": "07:30", "day": "tomorrow", "hard": True, "name": "school run"}
    tomorrow = add_target(context, NOW, SETTINGS, request, "ui")
    assert (tomorrow["date"], tomorrow["by"], tomorrow["hard"]) == ("2026-01-16", "07:30", True)
    assert tomorrow["name"] == "school run" and tomorrow["at"] == at(16, 7, 30)
    dated = add_target(context, NOW, SETTINGS, {"soc": 0.5, "by": "18:00", "day": "2026-01-20"})
    assert dated["at"] == at(20, 18)
    # 06:00 UTC is 16:00 in Brisbane; a time without an offset is the site's wall time.
    utc = add_target(context, NOW, SETTINGS, {"soc": 0.7, "by": "2026-01-15T06:00:00+00:00"})
    local = add_target(context, NOW, SETTINGS, {"soc": 0.7, "by": "2026-01-15T16:00"})
    assert utc["at"] == local["at"] == at(15, 16) and utc["by"] == "16:00"
    # Kept in time order, whatever order they came in.
    assert [t["at"] for t in stored(context)] == sorted(t["at"] for t in stored(context))


@pytest.mark.parametrize(
    ("request_", "located"),
    [
        ({"soc": 0.8, "by": "11:00"}, {"by": "Thu 15 Jan 2026 11:00 AEST is past"}),
        ({"soc": 0.8, "by": "12:00"}, {"by": "is past"}),  # now is not to come
        ({"soc": 0.8, "by": "16:00", "day": "2026-01-14"}, {"by": "is past"}),
        ({"soc": 0.8, "by": "2026-01-15T01:00:00+00:00"}, {"by": "11:00 AEST is past"}),
        ({"soc": 0.8, "by": "16:00", "day": "2026-02-01"}, {"by": "more than 14 days ahead"}),
        ({"soc": 80, "by": "16:00"}, {"soc": "a fraction from 0 to 1"}),
        ({"soc": True, "by": "16:00"}, {"soc": "a fraction from 0 to 1"}),
        ({"by": "16:00"}, {"soc": "is required"}),
        ({"soc": 0.8}, {"by": "is required"}),
        ({"soc": 0.8, "by": "teatime"}, {"by": "is not a time"}),
        ({"soc": 0.8, "by": "16:00", "day": "someday"}, {"day": "today, tomorrow or a date"}),
        ({"soc": 0.8, "by": "2026-01-16T16:00", "day": "today"}, {"day": "time of day"}),
        ({"soc": 0.8, "by": "16:00", "hard": "yes"}, {"hard": "true or false"}),
        (
            {"soc": 0.8, "by": "16:00", "hard": True, "shortfall_price": 1},
            {"shortfall_price": "soft targets"},
        ),
        ({"soc": 0.8, "by": "16:00", "shortfall_price": -1}, {"shortfall_price": "0 or more"}),
        ({"soc": 0.8, "by": "16:00", "name": "x" * 61}, {"name": "at most 60"}),
        ({"soc": 0.8, "by": "16:00", "when": 1}, {"when": "is not a field"}),
        ({"soc": 2, "by": "10:00", "colour": "red"}, {"soc": "", "by": "", "colour": ""}),
    ],
)
def test_a_bad_target_is_refused_naming_each_field(
    context: ContextStore, request_: dict[str, Any], located: dict[str, str]
) -> None:
    with pytest.raises(InvalidTarget) as refused:
        add_target(context, NOW, SETTINGS, request_)
    found = {p.field: p.message for p in refused.value.problems}
    assert found.keys() == located.keys()
    for field, words in located.items():
        assert words in found[field], found
    assert stored(context) is None  # nothing kept


def test_not_an_object_is_refused(context: ContextStore) -> None:
    with pytest.raises(InvalidTarget, match="JSON object"):
        add_target(context, NOW, SETTINGS, [0.8, "16:00"])


def test_cancelled_by_id_and_dropped_once_past(context: ContextStore) -> None:
    soon = add_target(context, NOW, SETTINGS, {"soc": 0.8, "by": "13:00"})
    later = add_target(context, NOW, SETTINGS, {"soc": 0.9, "by": "18:00"})
    assert cancel_target(context, "nope", NOW) is None
    assert cancel_target(context, later["id"], NOW) == later
    assert stored(context) == [soon]
    assert pending(stored(context), at(15, 13)) == []  # 13:00 itself is over
    third = add_target(context, at(15, 14), SETTINGS, {"soc": 0.5, "by": "20:00"})
    assert stored(context) == [third]  # the past one dropped at the change


def test_at_most_twenty_are_kept(context: ContextStore) -> None:
    for minute in range(20):
        add_target(context, NOW, SETTINGS, {"soc": 0.5, "by": f"13:{minute:02d}"})
    with pytest.raises(InvalidTarget, match="at most 20"):
        add_target(context, NOW, SETTINGS, {"soc": 0.5, "by": "14:00"})


def test_one_source_keeps_one_target_and_can_drop_it(context: ContextStore) -> None:
    mine = one_off.replace_from(context, NOW, SETTINGS, {"soc": 0.8, "by": "16:00"}, "mqtt")
    theirs = add_target(context, NOW, SETTINGS, {"soc": 0.6, "by": "17:00"}, "api")
    again = one_off.replace_from(context, NOW, SETTINGS, {"soc": 0.9, "by": "16:00"}, "mqtt")
    assert [t["id"] for t in stored(context)] == [again["id"], theirs["id"]]
    assert mine["id"] != again["id"]
    assert one_off.clear_from(context, "mqtt", NOW) == [again]
    assert stored(context) == [theirs]


def test_the_next_time_the_clock_reads_a_time_of_day() -> None:
    zone = BRISBANE
    assert next_at("16:00", NOW, zone) == at(15, 16)
    assert next_at("12:00", NOW, zone) == at(16, 12)  # now is not to come: tomorrow's
    assert next_at("9:15", NOW, zone) == at(16, 9, 15)
