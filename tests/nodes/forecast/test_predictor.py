"""The load predictor on synthetic households whose habits are known."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from nodes.forecast import DEFAULT_PROFILE, predict_load

TZ = ZoneInfo("Australia/Brisbane")
#: Monday 2026-02-02 00:00 local.
MONDAY = datetime(2026, 2, 2, tzinfo=TZ).timestamp()
FLAT = [400.0] * 48


def household(t: float) -> float:
    """Weekdays: 300 W, 2 kW 17:00-21:00. Weekends: 1 kW 08:00-18:00, else 300 W."""
    local = datetime.fromtimestamp(t, TZ)
    hour = local.hour
    if local.weekday() >= 5:
        return 1000.0 if 8 <= hour < 18 else 300.0
    return 2000.0 if 17 <= hour < 21 else 300.0


def history(days: int, until: float, scale: float = 1.0) -> list[tuple[float, float]]:
    return [(t, household(t) * scale) for t in range(int(until) - days * 86400, int(until), 1800)]


def test_falls_back_to_the_profile_without_enough_history() -> None:
    start = MONDAY + 5 * 3600  # 05:00 local
    expected = [DEFAULT_PROFILE[(10 + i) % 48] for i in range(96)]
    assert predict_load([], start, 96, TZ, DEFAULT_PROFILE) == expected
    one_day = history(1, start)
    assert predict_load(one_day, start, 96, "Australia/Brisbane", DEFAULT_PROFILE) == expected


def test_rejects_a_profile_of_the_wrong_length() -> None:
    with pytest.raises(ValueError):
        predict_load([], MONDAY, 4, TZ, [1.0] * 47)


def test_follows_the_weekday_and_weekend_shape() -> None:
    friday = MONDAY + 4 * 86400  # Friday 00:00, predict Friday and Saturday
    load = predict_load(history(28, friday), friday, 96, TZ, FLAT)
    truth = [household(friday + i * 1800) for i in range(96)]
    assert max(abs(p - a) for p, a in zip(load, truth, strict=True)) < 0.05 * 2000
    friday_evening, saturday_noon = load[36], load[48 + 24]  # 18:00 Fri, 12:00 Sat
    assert friday_evening == pytest.approx(2000.0, rel=0.02)
    assert saturday_noon == pytest.approx(1000.0, rel=0.02)
    assert load[24] == pytest.approx(300.0, rel=0.05)  # a weekday noon stays low


def test_ignores_history_from_the_future() -> None:
    start = MONDAY + 12 * 3600
    past = history(14, start)
    future = [(start + i * 1800, 99999.0) for i in range(48)]
    assert predict_load(past + future, start, 48, TZ, FLAT) == predict_load(
        past, start, 48, TZ, FLAT
    )


def test_scales_with_the_recent_level_and_damps_it_with_lead_time() -> None:
    start = MONDAY + 2 * 86400 + 12 * 3600  # Wednesday noon
    past = history(14, start)
    busy = [(t, w * (1.3 if t >= start - 3 * 3600 else 1.0)) for t, w in past]
    base = predict_load(past, start, 48, TZ, FLAT)
    scaled = predict_load(busy, start, 48, TZ, FLAT)
    ratios = [s / b for s, b in zip(scaled, base, strict=True)]
    assert ratios[0] == pytest.approx(1.3, rel=0.02)
    assert all(a >= b for a, b in itertools.pairwise(ratios))
    assert ratios[-1] == pytest.approx(1.0, abs=0.01)


def test_thin_slot_of_week_data_leans_on_the_broader_profiles() -> None:
    """One odd Monday (1.5 kW all day) is only partly believed for the next Monday."""
    start = MONDAY + 7 * 86400  # the second Monday
    past = [(t, 1500.0 if t < MONDAY + 86400 else w) for t, w in history(8, start)]
    load = predict_load(past, start, 48, TZ, FLAT)
    assert 400.0 < load[20] < 1400.0  # 10:00: between the odd Monday and the usual 300 W


def test_is_deterministic() -> None:
    start = MONDAY + 30 * 86400 + 1800 * 7
    past = history(35, start)
    first = predict_load(past, start, 96, TZ, DEFAULT_PROFILE)
    assert predict_load(past, start, 96, TZ, DEFAULT_PROFILE) == first


def test_local_time_with_daylight_saving() -> None:
    sydney = ZoneInfo("Australia/Sydney")
    start = datetime(2026, 4, 6, tzinfo=sydney).timestamp()  # the day after DST ends

    def habit(t: float) -> float:
        return 1500.0 if datetime.fromtimestamp(t, sydney).hour == 19 else 200.0

    past = [(t, habit(t)) for t in range(int(start) - 14 * 86400, int(start), 1800)]
    load = predict_load(past, start, 48, sydney, FLAT)
    peak = datetime.fromtimestamp(start, sydney) + timedelta(hours=19)
    assert load[38] == pytest.approx(1500.0, abs=5)  # 19:00 local, not 18:00 or 20:00
    assert peak.hour == 19 and load[36] == pytest.approx(200.0, abs=5)


#: Wednesday 2026-02-04, made a public holiday in the tests below.
WEDNESDAY = MONDAY + 2 * 86400


def test_a_public_holiday_is_predicted_like_a_sunday() -> None:
    past = history(28, WEDNESDAY)
    holiday = datetime.fromtimestamp(WEDNESDAY, TZ).date()
    as_holiday = predict_load(past, WEDNESDAY, 48, TZ, FLAT, holidays={holiday})
    as_weekday = predict_load(past, WEDNESDAY, 48, TZ, FLAT)
    sunday = [household(MONDAY - 86400 + i * 1800) for i in range(48)]
    assert max(abs(h - s) for h, s in zip(as_holiday, sunday, strict=True)) < 0.03 * 1000
    assert as_holiday[24] == pytest.approx(1000.0, rel=0.03)  # noon: the weekend's 1 kW
    assert as_holiday[36] == pytest.approx(300.0, rel=0.05)  # 18:00: no weekday peak
    assert as_weekday[24] == pytest.approx(300.0, rel=0.05)
    assert as_weekday[36] == pytest.approx(2000.0, rel=0.02)


def test_a_past_holiday_counts_as_a_sunday_not_as_its_weekday() -> None:
    """Four weeks back a Monday was a holiday lived like a weekend: with the holiday known,
    the next Monday is a plain weekday again."""
    start = MONDAY + 28 * 86400
    holiday_start = MONDAY + 21 * 86400  # the Monday a week before
    holiday = datetime.fromtimestamp(holiday_start, TZ).date()

    def lived(t: float) -> float:
        on_holiday = holiday_start <= t < holiday_start + 86400
        return household(t - 86400 if on_holiday else t)  # that Monday lived like a Sunday

    past = [(t, lived(t)) for t, _ in history(28, start)]
    known = predict_load(past, start, 48, TZ, FLAT, holidays={holiday})
    unknown = predict_load(past, start, 48, TZ, FLAT)
    assert known[24] == pytest.approx(300.0, rel=0.05)  # Monday noon
    assert known[36] == pytest.approx(2000.0, rel=0.02)  # Monday 18:00
    assert unknown[24] > known[24] + 100  # the holiday's busy noon leaks into Mondays


def test_holidays_outside_the_window_change_nothing() -> None:
    start = MONDAY + 28 * 86400
    past = history(28, start)
    far = {datetime(2020, 1, 1).date(), datetime(2030, 1, 1).date()}
    assert predict_load(past, start, 96, TZ, FLAT, holidays=far) == predict_load(
        past, start, 96, TZ, FLAT
    )
