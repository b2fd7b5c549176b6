"""Windows and run days on the wall clock."""

from __future__ import annotations

import pytest

from nodes.loads.window import Window, occurrence, run_day_start
from tests.nodes.loads.manager_sim import BRISBANE, SYDNEY, local


@pytest.mark.parametrize(
    ("when", "inside"),
    [
        ("21:59", False),
        ("22:00", True),
        ("23:59", True),
        ("00:00", True),
        ("05:59", True),
        ("06:00", False),
        ("12:00", False),
    ],
)
def test_a_window_past_midnight(when: str, inside: bool) -> None:
    night = Window.parse("22:00", "06:00")
    assert night.wraps and night.minutes == 8 * 60
    assert night.covers(local(f"2025-06-10T{when}"), BRISBANE) is inside


def test_a_window_to_24_00_and_a_whole_day_from_a_time() -> None:
    evening = Window.parse("18:00", "24:00")
    assert not evening.wraps and evening.covers(local("2025-06-10T23:59:59"), BRISBANE)
    assert not evening.covers(local("2025-06-10T17:59"), BRISBANE)
    whole = Window.parse("06:00", "06:00")
    assert whole.wraps and whole.minutes == 24 * 60
    assert whole.covers(local("2025-06-10T05:59"), BRISBANE)
    assert str(whole) == "06:00-06:00"


def test_a_window_across_the_sydney_spring_forward_night() -> None:
    night = Window.parse("22:00", "06:00")
    start = local("2025-10-04T23:00", SYDNEY)
    day = run_day_start(start, SYDNEY, night.start_min)
    begin, end = occurrence(night, day, SYDNEY)

    assert begin == local("2025-10-04T22:00", SYDNEY)
    assert end == local("2025-10-05T06:00", SYDNEY)
    assert end - begin == 7 * 3600  # the clocks skip 02:00-03:00
