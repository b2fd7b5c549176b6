"""PV calibration's learning on hand-checkable pairs: ratios of sums, shrunk towards 1 by
how few days there are, from usable daylight pairs of the window only."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from nodes.forecast.calibration import DAY, Calibration, Pair, Tuning, learn

TZ = ZoneInfo("Australia/Brisbane")
#: Local midnight starting the day calibration is learned for (Brisbane has no DST).
TODAY = datetime(2025, 3, 10, tzinfo=TZ).timestamp()
TEN = 10 * 3600  # 10:00 local: the 10:00-11:00 bin
TUNING = Tuning(shrink_days=7.0)


def days_of(n: int, forecast: float, actual: float, at: int = TEN, skip: str = "") -> list[Pair]:
    """One pair at ``at`` (seconds after midnight) on each of the ``n`` days before today."""
    return [Pair(TODAY - d * DAY + at, forecast, actual, skip) for d in range(1, n + 1)]


def factor(pairs: list[Pair], tuning: Tuning = TUNING, at: int = TEN) -> float:
    return learn(pairs, TODAY, TZ, tuning).factor_at(TODAY + at, TZ)


def test_a_steady_ratio_is_trusted_by_days_over_days_plus_the_shrinkage() -> None:
    # Actual 800 W where 1000 W was forecast: ratio 0.8.
    assert factor(days_of(1, 1000, 800)) == pytest.approx(1 - 0.2 * 1 / 8)  # one day: 0.975
    assert factor(days_of(7, 1000, 800)) == pytest.approx(1 - 0.2 * 7 / 14)  # a week: 0.9
    assert factor(days_of(28, 1000, 800)) == pytest.approx(1 - 0.2 * 28 / 35)  # 0.84
    assert factor(days_of(7, 1000, 800), Tuning(shrink_days=0)) == pytest.approx(0.8)


def test_nothing_learned_leaves_the_forecast_as_issued() -> None:
    calibration = learn([], TODAY, TZ, TUNING)
    assert set(calibration.factors) == {1.0} and set(calibration.days) == {0}
    assert calibration == Calibration.identity(60)


def test_the_ratio_is_of_sums_so_a_dull_day_weighs_little() -> None:
    # A sunny day 4000 -> 3000 and a dull one 100 -> 300: (3000 + 300) / (4000 + 100).
    pairs = [Pair(TODAY - DAY + TEN, 4000, 3000), Pair(TODAY - 2 * DAY + TEN, 100, 300)]
    assert factor(pairs, Tuning(shrink_days=0)) == pytest.approx(3300 / 4100)


def test_half_hours_whose_pv_was_held_back_teach_nothing() -> None:
    # The battery full or PV curtailed: the 500 W recorded is not what the panels could give.
    held = days_of(7, 1000, 500, skip="full") + days_of(
        7, 1000, 500, at=TEN + 1800, skip="curtailed"
    )
    assert factor(held) == 1.0
    calibration = learn([*held, *days_of(7, 1000, 800)], TODAY, TZ, TUNING)
    assert calibration.factor_at(TODAY + TEN, TZ) == pytest.approx(0.9)
    assert calibration.days[10] == 7


def test_night_and_days_outside_the_window_teach_nothing() -> None:
    dark = days_of(7, 20, 40, at=3 * 3600)  # both under dark_w (50 W)
    assert factor(dark, at=3 * 3600) == 1.0
    old = [Pair(TODAY - 40 * DAY + TEN, 1000, 500)]  # before the 28-day window
    later = [Pair(TODAY + TEN, 1000, 500)]  # today itself: learned tomorrow
    assert factor(old + later) == 1.0


def test_factors_stay_within_their_bounds() -> None:
    bounded = Tuning(shrink_days=0, min_factor=0.5, max_factor=1.5)
    assert factor(days_of(7, 1000, 100), bounded) == 0.5
    assert factor(days_of(7, 1000, 3000), bounded) == 1.5
    assert factor(days_of(7, 0, 300)) == 1.0  # nothing forecast: no ratio to learn


def test_each_bin_of_the_local_day_has_its_own_factor() -> None:
    morning, afternoon = days_of(7, 1000, 1200, at=8 * 3600), days_of(7, 1000, 800, at=15 * 3600)
    calibration = learn(morning + afternoon, TODAY, TZ, TUNING)
    assert calibration.factor_at(TODAY + 8 * 3600 + 1799, TZ) == pytest.approx(1.1)
    assert calibration.factor_at(TODAY + 15.5 * 3600, TZ) == pytest.approx(0.9)
    assert calibration.factor_at(TODAY + 12 * 3600, TZ) == 1.0
    rows = calibration.as_rows()
    assert len(rows) == 24
    assert rows[8] == {"from": "08:00", "to": "09:00", "factor": 1.1, "days": 7}
    half_hours = learn(morning, TODAY, TZ, Tuning(shrink_days=7, bin_minutes=30))
    assert len(half_hours.factors) == 48 and half_hours.factors[16] == pytest.approx(1.1)


def test_apply_scales_p50_p10_and_p90_by_the_factor_at_each_periods_middle() -> None:
    calibration = learn(days_of(7, 1000, 800), TODAY, TZ, TUNING)  # 10:00-11:00: 0.9
    periods: list[dict[str, Any]] = [
        {
            "start": TODAY + TEN,
            "end": TODAY + TEN + 1800,
            "p50_w": 2000.0,
            "p10_w": 1000.0,
            "p90_w": 2500.0,
        },
        {"start": TODAY + TEN + 3600, "end": TODAY + TEN + 5400, "p50_w": 2000.0, "p10_w": None},
    ]
    first, second = calibration.apply(periods, TZ)
    assert (first["p50_w"], first["p10_w"], first["p90_w"]) == (1800.0, 900.0, 2250.0)
    assert second["p50_w"] == 2000.0 and second["p10_w"] is None  # 11:00: no factor learned
    assert periods[0]["p50_w"] == 2000.0  # the reading given is left as it was


def test_tuning_reads_the_site_section_and_ignores_the_switch() -> None:
    tuning = Tuning.from_settings({"enabled": True, "window_days": 14, "shrink_days": 3})
    assert (tuning.window_days, tuning.shrink_days, tuning.bin_minutes) == (14, 3, 60)
