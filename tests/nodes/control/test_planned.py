"""Overrides set ahead: kept with their window, refused where they make no sense (each
problem at its field), started when the window opens, dropped once it has passed."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from flowengine import VirtualClock, open_database
from flowengine.context import GLOBAL, ContextStore
from nodes.control.levels import override as override_level
from nodes.control.override_rules import InvalidOverride, active_override, describe
from nodes.control.planned import (
    PLANNED_KEY,
    cancel_planned,
    checked_request,
    planned,
    set_or_plan_override,
    start_due,
)
from nodes.control.settings import ControlSettings
from nodes.control.situation import Situation
from powermaster.config import merge_defaults

BRISBANE = ZoneInfo("Australia/Brisbane")
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=BRISBANE).timestamp()  # Thursday noon
SETTINGS = merge_defaults({"site": {"timezone": "Australia/Brisbane"}})
#: "Force charge 3 kW next Tuesday 17:00-19:00", as the API takes it.
TUESDAY = {
    "mode": "force_charge",
    "power_w": 3000,
    "start": "2026-01-20T17:00",
    "until": "2026-01-20T19:00",
}


def at(day: int, hour: int, minute: int = 0) -> float:
    return datetime(2026, 1, day, hour, minute, tzinfo=BRISBANE).timestamp()


@pytest.fixture
def context() -> ContextStore:
    return ContextStore(open_database(":memory:"), VirtualClock(NOW))


def plan(context: ContextStore, now: float = NOW, **request: Any) -> dict[str, Any]:
    fields = {**TUESDAY, **request}
    mode, power = fields.pop("mode"), fields.pop("power_w")
    return set_or_plan_override(context, now, SETTINGS, mode, power, **fields)


def test_an_override_set_ahead_is_kept_with_its_window(context: ContextStore) -> None:
    stored = plan(context)
    assert stored == {
        "id": stored["id"],
        "mode": "force_charge",
        "power_w": 3000.0,
        "from": at(20, 17),
        "until": at(20, 19),
        "set_at": NOW,
        "source": "api",
        "reason": "manual override from the API",
    }
    assert context.get(GLOBAL, PLANNED_KEY) == [stored]
    assert context.get(GLOBAL, "override") is None  # nothing in force meanwhile
    assert describe(stored, NOW, BRISBANE) == "force charge 3 kW from Tue 20 Jan 17:00 for 2 h"


def test_a_from_now_or_past_is_an_override_in_force(context: ContextStore) -> None:
    stored = plan(context, start=NOW - 60, until=NOW + 3600)
    assert "from" not in stored and stored["until"] == NOW + 3600
    assert active_override(context, NOW) == stored
    assert context.get(GLOBAL, PLANNED_KEY) is None


def test_a_duration_counts_from_the_start(context: ContextStore) -> None:
    stored = plan(context, until=None, duration="90m")
    assert (stored["from"], stored["until"]) == (at(20, 17), at(20, 18, 30))
    epoch = plan(context, start=at(21, 6), until=None, duration=600)  # epoch seconds too
    assert epoch["from"] == at(21, 6)


@pytest.mark.parametrize(
    ("request_", "located"),
    [
        ({"until": "2026-01-20T16:00"}, {"until": "is not after from"}),
        ({"until": "2026-01-15T11:00"}, {"until": "is not in the future"}),
        ({"start": "2026-02-01T17:00", "until": "2026-02-01T18:00"}, {"from": "days ahead"}),
        ({"until": "2026-01-21T19:00"}, {"until": "longer than the most allowed"}),
        ({"start": "next tuesday"}, {"from": "is not a time"}),
        ({"until": "later"}, {"until": "is not a time", "duration": "is required"}),
        ({"duration": "2h"}, {"until": "not both"}),
        ({"mode": "turbo"}, {"mode": "must be one of"}),
    ],
)
def test_a_bad_one_is_refused_naming_each_field(
    context: ContextStore, request_: dict[str, Any], located: dict[str, str]
) -> None:
    with pytest.raises(InvalidOverride) as refused:
        plan(context, **request_)
    found = {p.field: p.message for p in refused.value.problems}
    assert found.keys() == located.keys()
    for field, words in located.items():
        assert words in found[field], found
    assert context.get(GLOBAL, PLANNED_KEY) is None


def test_windows_may_not_overlap_and_are_kept_in_order(context: ContextStore) -> None:
    tuesday = plan(context)
    monday = plan(context, start="2026-01-19T17:00", until="2026-01-19T18:00")
    with pytest.raises(InvalidOverride) as refused:
        plan(context, start="2026-01-20T18:30", until="2026-01-20T20:00")
    [problem] = refused.value.problems
    assert problem.field == "from"
    assert "overlaps the override planned for Tue 20 Jan 17:00-19:00" in problem.message
    touching = plan(context, start="2026-01-20T19:00", until="2026-01-20T20:00")  # ends meet
    assert [o["id"] for o in planned(context.get(GLOBAL, PLANNED_KEY), NOW)] == [
        monday["id"],
        tuesday["id"],
        touching["id"],
    ]


def test_cancelled_by_id(context: ContextStore) -> None:
    stored = plan(context)
    assert cancel_planned(context, "nope", NOW) is None
    assert cancel_planned(context, stored["id"], NOW) == stored
    assert context.get(GLOBAL, PLANNED_KEY) == []


def test_started_when_its_window_opens_and_dropped_once_past(context: ContextStore) -> None:
    first = plan(context, start="2026-01-19T17:00", until="2026-01-19T18:00")
    second = plan(context)
    assert start_due(context, at(19, 16, 59)) is None  # not yet
    assert start_due(context, at(19, 17)) == first
    assert context.get(GLOBAL, "override") == first
    assert active_override(context, at(19, 17)) == first
    assert context.get(GLOBAL, PLANNED_KEY) == [second]
    # The service was down over Tuesday's window: it is dropped, never started late.
    assert start_due(context, at(20, 19, 30)) is None
    assert context.get(GLOBAL, PLANNED_KEY) == []


def test_control_acts_on_an_override_only_inside_its_window() -> None:
    ahead = checked_request(NOW, SETTINGS, "force_charge", 3000, start=at(15, 17), until=at(15, 19))
    options = ControlSettings.from_settings(SETTINGS)

    def decided(now: float) -> Any:
        return override_level(
            Situation(now=now, telemetry={}, settings=SETTINGS, options=options, override=ahead)
        )

    assert decided(at(15, 16, 59)) is None  # in global.override early (say, by hand): ignored
    assert decided(at(15, 17)) is not None and decided(at(15, 17)).mode == "force_charge"
    assert decided(at(15, 19)) is None
