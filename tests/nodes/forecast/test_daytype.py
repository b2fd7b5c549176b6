"""Public holidays for the load forecast, from the holidays package."""

from __future__ import annotations

from datetime import date

import pytest

from nodes.forecast.daytype import (
    holidays_between,
    public_holidays,
    region_for_timezone,
    region_problem,
)


def test_queensland_2025() -> None:
    days = public_holidays("AU-QLD", 2025)
    assert date(2025, 1, 27) in days  # Australia Day, moved to the Monday
    assert date(2025, 4, 18) in days  # Good Friday
    assert date(2025, 8, 13) in days  # the Royal Queensland Show (Brisbane)
    assert date(2025, 10, 6) in days  # the King's Birthday, October in Queensland
    assert date(2025, 6, 9) not in days  # ... but June in most other states
    assert date(2025, 6, 9) in public_holidays("AU-NSW", 2025)


def test_over_several_years() -> None:
    days = holidays_between("AU-QLD", range(2024, 2026))
    assert {date(2024, 12, 25), date(2025, 12, 25)} <= days
    assert len(days) == len(public_holidays("AU-QLD", 2024)) + len(public_holidays("AU-QLD", 2025))


@pytest.mark.parametrize(
    ("timezone", "region"),
    [
        ("Australia/Brisbane", "AU-QLD"),
        ("Australia/Sydney", "AU-NSW"),
        ("Australia/Melbourne", "AU-VIC"),
        ("Australia/Perth", "AU-WA"),
        ("Australia/Adelaide", "AU-SA"),
        ("Australia/Hobart", "AU-TAS"),
        ("Australia/Darwin", "AU-NT"),
        ("Pacific/Auckland", None),
        ("UTC", None),
    ],
)
def test_an_australian_site_takes_its_state_from_its_timezone(
    timezone: str, region: str | None
) -> None:
    assert region_for_timezone(timezone) == region


def test_an_unknown_region_says_why() -> None:
    assert region_problem("AU-QLD") is None
    assert region_problem("NZ") is None
    assert "XX" in (region_problem("XX") or "")
    with pytest.raises(ValueError, match="does not have subdivision"):
        public_holidays("AU-ZZ", 2025)
