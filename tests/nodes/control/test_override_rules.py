"""The manual override's rules: what is stored, what is refused, and when it ends."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowengine import VirtualClock
from flowengine.context import ContextStore
from flowengine.database import open_database
from nodes.control.decision import MODES
from nodes.control.override_rules import (
    OVERRIDE_KEY,
    InvalidOverride,
    active_override,
    checked_override,
    clear_override,
    is_active,
    power_limit_w,
    set_override,
)
from powermaster.config import DEFAULTS

START = 1_767_225_600.0  # 2026-01-01 00:00 UTC
SETTINGS: dict[str, Any] = copy.deepcopy(DEFAULTS)


def store() -> tuple[ContextStore, VirtualClock]:
    clock = VirtualClock(START)
    return ContextStore(open_database(":memory:"), clock), clock


def refused(**request: Any) -> dict[str, str]:
    context, clock = store()
    args = {"mode": "force_charge", "power_w": 3000, "duration": "1h", **request}
    with pytest.raises(InvalidOverride) as caught:
        set_override(context, clock, SETTINGS, **args)
    assert context.get("global", OVERRIDE_KEY) is None  # nothing refused is stored
    return {p.field: p.message for p in caught.value.problems}


@pytest.mark.parametrize(
    ("duration", "seconds"), [("2h", 7200), ("30m", 1800), ("1h30m", 5400), (90, 90), (0.5, 0.5)]
)
def test_a_valid_override_is_stored_with_its_end(duration: Any, seconds: float) -> None:
    context, clock = store()
    stored = set_override(context, clock, SETTINGS, "force_charge", 3000, duration, "mqtt", "ev")
    assert stored == {
        "mode": "force_charge",
        "power_w": 3000.0,
        "until": START + seconds,
        "set_at": START,
        "source": "mqtt",
        "reason": "ev",
    }
    assert context.get("global", OVERRIDE_KEY) == stored


def test_an_override_without_a_reason_says_where_it_came_from() -> None:
    context, clock = store()
    stored = set_override(context, clock, SETTINGS, "hold", 0, "10m")
    assert stored["reason"] == "manual override from the API"


def test_each_problem_names_its_field() -> None:
    assert refused(mode="turbo", power_w=-1, duration="never", source="sms", reason=3).keys() == {
        "mode",
        "power_w",
        "duration",
        "source",
        "reason",
    }
    assert refused(mode=None)["mode"].startswith("is required")
    assert refused(power_w=float("nan"))["power_w"].startswith("must be a number")
    assert refused(power_w=5000.5) == {
        "power_w": "5000.5 W is beyond the battery's charge limit (5000 W)"
    }
    assert refused(duration="24h1s") == {
        "duration": "86401 s is longer than the most allowed (86400 s)"
    }
    assert refused(duration=-5) == {"duration": "a duration cannot be negative (-5)"}
    assert refused(duration=[1]) == {"duration": "must be seconds or text like 2h, not [1]"}
    assert refused(reason="x" * 201) == {"reason": "is longer than 200 characters"}


def test_the_longest_override_comes_from_the_site_config() -> None:
    context, clock = store()
    settings = {**SETTINGS, "control": {**SETTINGS["control"], "override_max_duration": "2h"}}
    assert set_override(context, clock, settings, "hold", 0, "2h")["until"] == START + 7200
    with pytest.raises(InvalidOverride, match="duration: 7260 s is longer"):
        set_override(context, clock, settings, "hold", 0, "2h1m")


async def test_an_override_ends_by_itself_and_can_be_cleared() -> None:
    context, clock = store()
    stored = set_override(context, clock, SETTINGS, "force_discharge", 2500, "5m")
    assert active_override(context, clock.time()) == stored
    assert active_override(context.scope("global"), clock.time()) == stored
    await clock.advance(299)
    assert active_override(context, clock.time()) == stored
    await clock.advance(1)
    assert active_override(context, clock.time()) is None  # past its end: not active
    assert clear_override(context) == stored  # an expired one can still be cleared
    assert context.get("global", OVERRIDE_KEY) is None
    assert clear_override(context) is None


@pytest.mark.parametrize(
    "stored",
    [
        None,
        "force_charge",
        {"mode": "turbo", "until": START + 60},
        {"mode": "hold"},
        {"mode": "hold", "until": "later"},
        {"mode": "hold", "until": True},
    ],
)
def test_a_malformed_stored_override_is_never_active(stored: Any) -> None:
    assert not is_active(stored, START)


requests = st.fixed_dictionaries(
    {
        "mode": st.sampled_from(MODES),
        "power_w": st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
        "duration": st.floats(min_value=1, max_value=2 * 86400),
    }
)


@given(request=requests, later=st.floats(min_value=0, max_value=3 * 86400))
def test_a_stored_override_is_within_limits_and_active_only_until_its_end(
    request: dict[str, Any], later: float
) -> None:
    context, clock = store()
    limit, _ = power_limit_w(request["mode"], SETTINGS)
    fits = 0 <= request["power_w"] <= limit and request["duration"] <= 86400
    try:
        stored = set_override(context, clock, SETTINGS, **request)
    except InvalidOverride as exc:
        assert not fits
        assert {p.field for p in exc.problems} <= {"power_w", "duration"}
        return
    assert fits
    assert 0 <= stored["power_w"] <= limit
    assert stored["until"] - stored["set_at"] == pytest.approx(request["duration"])
    assert is_active(stored, START + later) == (START + later < stored["until"])
    assert is_active(stored, stored["set_at"]) and not is_active(stored, stored["until"])


def test_a_from_in_the_past_is_refused_rather_than_started_late() -> None:
    """A window that has begun already would otherwise run its whole length from now."""
    problems: dict[str, str] = {}
    try:
        checked_override(START, SETTINGS, "hold", 0, "1h", start=START - 3 * 3600)
    except InvalidOverride as exc:
        problems = {p.field: p.message for p in exc.problems}
    assert problems["from"].startswith("is past (")
    # A few seconds of clock difference still means now.
    now = checked_override(START, SETTINGS, "hold", 0, "1h", start=START - 30)
    assert "from" not in now and now["until"] == START + 3600
