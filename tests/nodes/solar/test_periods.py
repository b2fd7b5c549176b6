"""Half-hour averaging of provider steps and curves, sums over sites, the cover check."""

from __future__ import annotations

import pytest

from nodes.inputs.provider import InvalidPayload
from nodes.solar.periods import average_curve, average_steps, require_cover, sum_sites

T0 = 1_767_571_200.0  # 2026-01-05T00:00Z, a half-hour boundary
H = 1800.0


def test_half_hour_steps_pass_through() -> None:
    steps = [(T0, T0 + H, (1000.0, 500.0, 1500.0)), (T0 + H, T0 + 2 * H, (0.0, 0.0, 0.0))]
    assert average_steps(steps) == {T0: (1000.0, 500.0, 1500.0), T0 + H: (0.0, 0.0, 0.0)}


def test_quarter_hours_are_averaged_and_hours_are_split() -> None:
    quarters = [(T0, T0 + 900, (1000.0, 0.0, 0.0)), (T0 + 900, T0 + H, (3000.0, 0.0, 0.0))]
    assert average_steps(quarters)[T0][0] == 2000.0
    hour = [(T0, T0 + 3600, (800.0, 400.0, 900.0))]
    assert average_steps(hour) == {T0: (800.0, 400.0, 900.0), T0 + H: (800.0, 400.0, 900.0)}


def test_a_half_hour_only_partly_covered_is_left_out() -> None:
    assert average_steps([(T0 + 900, T0 + H + H, (100.0, 100.0, 100.0))]) == {
        T0 + H: (100.0, 100.0, 100.0)
    }


def test_overlapping_steps_are_an_error() -> None:
    steps = [(T0, T0 + H, (1.0, 1.0, 1.0)), (T0, T0 + H, (2.0, 2.0, 2.0))]
    with pytest.raises(InvalidPayload, match="overlap in the half-hour from 2026-01-05T00:00Z"):
        average_steps(steps)


def test_sites_are_added_where_all_of_them_have_data() -> None:
    east = {T0: (100.0, 50.0, 150.0), T0 + H: (200.0, 100.0, 300.0)}
    west = {T0 + H: (20.0, 10.0, 30.0), T0 + 2 * H: (40.0, 20.0, 60.0)}
    assert sum_sites([east, west]) == [
        {"start": T0 + H, "end": T0 + 2 * H, "p50_w": 220.0, "p10_w": 110.0, "p90_w": 330.0}
    ]
    assert sum_sites([]) == []


def test_a_curve_is_averaged_by_its_area() -> None:
    # 0 W at T0 rising to 2000 W an hour later, then straight back down to 0
    segments = [(T0, 0.0, T0 + 3600, 2000.0), (T0 + 3600, 2000.0, T0 + 7200, 0.0)]
    means = average_curve(segments, T0, T0 + 4 * H)
    assert [means[T0 + i * H][0] for i in range(4)] == [500.0, 1500.0, 1500.0, 500.0]
    assert means[T0] == (500.0, 500.0, 500.0)  # no spread: the bands are equal


def test_outside_the_curve_the_power_is_zero() -> None:
    segments = [(T0 + 900, 0.0, T0 + 2700, 1800.0)]  # rises through part of two half-hours
    means = average_curve(segments, T0 - H, T0 + 2 * H)
    assert means[T0 - H][0] == 0.0
    # [T0+900, T0+1800]: 0 -> 900 W over 900 s = 405000 J; /1800 s = 225 W
    assert means[T0][0] == 225.0
    # [T0+1800, T0+2700]: 900 -> 1800 W over 900 s = 1215000 J; /1800 s = 675 W
    assert means[T0 + H][0] == 675.0


def periods(start: float, count: int) -> list[dict[str, float]]:
    return [{"start": start + i * H, "end": start + (i + 1) * H} for i in range(count)]


def test_a_forecast_must_cover_the_next_day() -> None:
    now = T0 + 600
    require_cover("x", periods(T0, 49), now, 24)
    require_cover("x", periods(T0 + H, 49), now, 24)  # the half-hour in progress may be missing
    with pytest.raises(InvalidPayload, match=r"x: forecast covers .* not now\.\.\+24h"):
        require_cover("x", periods(T0, 48), now, 24)
    with pytest.raises(InvalidPayload, match="not now"):
        require_cover("x", periods(T0 + 2 * H, 60), now, 24)
    with pytest.raises(InvalidPayload, match="no forecast periods"):
        require_cover("x", [], now, 24)


def test_a_gap_inside_the_forecast_is_named() -> None:
    gappy = periods(T0, 10) + periods(T0 + 11 * H, 50)
    with pytest.raises(InvalidPayload, match="gap from 2026-01-05T05:00Z to 2026-01-05T05:30Z"):
        require_cover("x", gappy, T0, 24)
