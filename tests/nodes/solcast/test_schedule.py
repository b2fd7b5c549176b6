"""The quota planner: which local times a daily call budget buys, and when they fall."""

from __future__ import annotations

from datetime import UTC, datetime, time
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from nodes.solcast.schedule import (
    PRIORITY,
    fetch_times,
    latest,
    occurrences,
    parse_times,
    utc_day_start,
)

BRISBANE = ZoneInfo("Australia/Brisbane")


def hm(*values: str) -> list[time]:
    return [time.fromisoformat(v) for v in values]


def test_the_free_tier_with_one_site_fetches_nine_times_and_keeps_one_spare() -> None:
    assert fetch_times(10) == hm(
        "05:00", "07:00", "09:00", "10:00", "11:00", "13:00", "14:00", "15:00", "17:00"
    )


def test_the_free_tier_with_two_sites_fetches_five_times() -> None:
    assert fetch_times(10, sites=2) == hm("05:00", "07:00", "09:00", "11:00", "15:00")


def test_seven_calls_buy_the_default_daylight_list() -> None:
    assert fetch_times(7) == hm("05:00", "07:00", "09:00", "11:00", "13:00", "15:00", "17:00")


def test_fifty_calls_fetch_every_half_hour_of_daylight() -> None:
    times = fetch_times(50)
    assert times[0] == time(5) and times[-1] == time(17, 30)
    assert len(times) == 26
    assert all(b.hour * 60 + b.minute - a.hour * 60 - a.minute == 30 for a, b in pairwise(times))


def test_fifty_calls_for_two_sites() -> None:
    times = fetch_times(50, sites=2)
    assert len(times) == 23  # 25 each, 2 kept spare
    assert {time(5), time(15), time(9), time(12)} <= set(times)
    assert set(times) <= set(fetch_times(50))


def test_the_fetches_before_the_morning_and_evening_plans_come_first() -> None:
    assert fetch_times(1) == hm("05:00")
    assert fetch_times(2) == hm("05:00", "15:00")
    assert fetch_times(3) == hm("05:00", "09:00", "15:00")
    assert fetch_times(1, sites=2) == []


@pytest.mark.parametrize("sites", [1, 2, 3, 4])
@pytest.mark.parametrize("limit", range(0, 61))
def test_a_schedule_never_needs_more_than_the_limit(limit: int, sites: int) -> None:
    times = fetch_times(limit, sites)
    per_site = limit // sites
    assert len(times) * sites <= limit
    assert per_site - len(times) >= per_site // 10 or len(times) == len(PRIORITY)
    assert times == sorted(set(times))
    assert all(t.minute in (0, 30) and time(5) <= t <= time(17, 30) for t in times)


def test_nonsense_budgets_are_refused() -> None:
    with pytest.raises(ValueError):
        fetch_times(10, sites=0)
    with pytest.raises(ValueError):
        fetch_times(-1)


def test_times_are_parsed_and_sorted() -> None:
    assert parse_times(["15:00", "05:30", "15:00"]) == hm("05:30", "15:00")
    with pytest.raises(ValueError, match="'5am' is not HH:MM"):
        parse_times(["5am"])


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()


def test_local_times_fall_on_utc_moments_in_the_site_zone() -> None:
    # 05:00 and 15:00 in Brisbane (UTC+10, no daylight saving) on 5-6 January 2026
    moments = occurrences(hm("05:00", "15:00"), BRISBANE, utc(2026, 1, 4, 19), utc(2026, 1, 6))
    assert moments == [utc(2026, 1, 4, 19), utc(2026, 1, 5, 5), utc(2026, 1, 5, 19)]  # [start, end)


def test_latest_is_the_last_time_at_or_before_now() -> None:
    times = hm("05:00", "15:00")
    assert latest(times, BRISBANE, utc(2026, 1, 5, 5)) == utc(2026, 1, 5, 5)
    assert latest(times, BRISBANE, utc(2026, 1, 5, 4, 59)) == utc(2026, 1, 4, 19)
    # 02:00 in Brisbane: yesterday's 15:00
    assert latest(times, BRISBANE, utc(2026, 1, 5, 16)) == utc(2026, 1, 5, 5)
    assert latest([], BRISBANE, utc(2026, 1, 5)) is None


def test_a_daylight_saving_change_keeps_the_local_time() -> None:
    sydney = ZoneInfo("Australia/Sydney")  # clocks go forward at 02:00 on 5 October 2025
    moments = occurrences(hm("05:00"), sydney, utc(2025, 10, 3, 12), utc(2025, 10, 6, 12))
    local = [datetime.fromtimestamp(m, sydney) for m in moments]
    assert [(m.day, m.hour) for m in local] == [(4, 5), (5, 5), (6, 5)]
    assert [b - a for a, b in pairwise(moments)] == [82800.0, 86400.0]


def test_the_quota_day_starts_at_midnight_utc() -> None:
    assert utc_day_start(utc(2026, 1, 5, 23, 59)) == utc(2026, 1, 5)
    assert utc_day_start(utc(2026, 1, 5)) == utc(2026, 1, 5)
