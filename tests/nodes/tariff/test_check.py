"""What is wrong with a tariff, and where: each problem at its path in the site config."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from nodes.tariff import InvalidTariff, Tariff, check_tariff
from tests.nodes.tariff.test_tariff import SEASONAL, WORKWEEK


def problems(section: Any) -> list[str]:
    return [str(p) for p in check_tariff(section)]


def edited(section: dict[str, Any], change: Any) -> dict[str, Any]:
    section = copy.deepcopy(section)
    change(section)
    return section


def test_the_examples_are_sound() -> None:
    assert problems(WORKWEEK) == []
    assert problems(SEASONAL) == []
    assert (
        problems({"import": [{"name": "flat", "price": 0.3, "from": "00:00", "to": "24:00"}]}) == []
    )


def test_an_overlap_within_a_season_names_both_bands_and_when() -> None:
    section = edited(
        SEASONAL,
        lambda s: s["seasons"]["summer"]["import"].append(
            {"name": "critical", "price": 1.0, "from": "17:00", "to": "19:00", "days": "weekdays"}
        ),
    )
    assert problems(section) == [
        "tariff.seasons.summer.import[1]: critical 17:00-19:00 weekdays, $1/kWh overlaps "
        "tariff.seasons.summer.import[0] (summer peak 16:00-21:00 every day, $0.55/kWh) on "
        "weekdays 17:00-19:00; each minute needs exactly one band"
    ]


def test_a_season_band_over_an_all_year_band_says_all_year_bands_apply_too() -> None:
    section = edited(
        SEASONAL,
        lambda s: s["seasons"]["rest"]["import"].append(
            {"name": "sponge", "price": 0.1, "from": "10:00", "to": "14:00", "days": "sun"}
        ),
    )
    [problem] = problems(section)
    assert problem.startswith("tariff.seasons.rest.import[1]: sponge 10:00-14:00 sun")
    assert "overlaps tariff.import[1] (solar sponge 09:00-16:00 every day" in problem
    assert "on sun 10:00-14:00" in problem
    assert "(all-year bands apply in every season too)" in problem


def test_a_gap_says_which_days_and_hours_have_no_price() -> None:
    section = edited(WORKWEEK, lambda s: s["import"].pop(1))  # no weekend evening
    assert problems(section) == ["tariff.import: no import band covers weekends 16:00-21:00"]


def test_a_gap_in_one_season_points_at_that_season() -> None:
    section = edited(SEASONAL, lambda s: s["seasons"]["summer"].pop("import"))
    assert problems(section) == [
        "tariff.seasons.summer: no import band covers every day 16:00-21:00 "
        "in season summer (12-01 to 02-28)"
    ]


def test_days_outside_every_season_need_all_year_bands() -> None:
    section = edited(SEASONAL, lambda s: s["seasons"].pop("rest"))
    assert problems(section) == [
        "tariff.import: no import band covers every day 16:00-21:00 "
        "outside any season (03-01 to 11-30)",
        "tariff: no feed-in band covers every day 00:00-24:00 outside any season (03-01 to 11-30)",
    ]


def test_feed_in_windows_must_cover_the_day_too() -> None:
    section = edited(WORKWEEK, lambda s: s["export"][1].update({"to": "12:00"}))
    assert problems(section) == ["tariff.export: no feed-in band covers every day 12:00-16:00"]


def test_a_flat_feed_in_rate_also_applies_in_seasons() -> None:
    section = edited(SEASONAL, lambda s: s.update({"export": 0.05}))
    found = problems(section)
    assert len(found) == 2
    assert found[0] == (
        "tariff.seasons.summer.export: flat $0.07/kWh overlaps tariff.export (flat $0.05/kWh) "
        "on every day 00:00-24:00; each minute needs exactly one band "
        "(all-year bands apply in every season too)"
    )
    assert found[1].startswith("tariff.seasons.rest.export: flat $0.04/kWh overlaps")


def test_to_before_from_runs_past_midnight_and_says_so_when_it_overlaps() -> None:
    section = edited(WORKWEEK, lambda s: s["import"][3].update({"from": "16:00", "to": "09:00"}))
    found = problems(section)
    assert found[0].startswith(
        "tariff.import[3]: solar sponge 16:00-09:00 (runs past midnight to 09:00 the next day) "
        "every day, $0.15/kWh overlaps tariff.import[0] (peak 16:00-21:00 weekdays"
    )
    assert found[0].endswith(
        "('to' is before 'from', so it runs past midnight: swap them if it should not)"
    )
    assert "tariff.import: no import band covers every day 09:00-16:00" in found


def test_an_empty_band_is_named() -> None:
    section = edited(WORKWEEK, lambda s: s["import"][0].update({"to": "16:00"}))
    found = problems(section)
    assert found[0] == (
        "tariff.import[0]: from and to are both 16:00, so the band is empty "
        "(00:00 to 24:00 is all day)"
    )
    assert "tariff.import: no import band covers weekdays 16:00-21:00" in found


def test_seasons_may_not_share_days_and_dates_must_exist() -> None:
    section = edited(SEASONAL, lambda s: s["seasons"]["rest"].update({"from": "02-15"}))
    assert problems(section)[0] == (
        "tariff.seasons.rest: season rest (02-15 to 11-30) shares 02-15 to 02-29 with season "
        "summer (12-01 to 02-28); a day can be in one season only"
    )
    section = edited(SEASONAL, lambda s: s["seasons"]["rest"].update({"to": "11-31"}))
    assert problems(section)[0] == "tariff.seasons.rest.to: 11-31 is not a day of the year (MM-DD)"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda s: s["import"][0].update({"from": "16:60"}),
            "tariff.import[0].from: '16:60' is not a time HH:MM from 00:00 to 23:59",
        ),
        (
            lambda s: s["import"][0].update({"price": 45}),
            "tariff.import[0].price: 45 is greater than the maximum of 5 "
            "($/kWh including GST: 0.45 for 45 c/kWh)",
        ),
        (
            lambda s: s["import"][0].update({"days": ["mon", "funday"]}),
            "tariff.import[0].days[1]: 'funday' is not one of "
            "['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']",
        ),
        (
            lambda s: s["import"][2].pop("name"),
            "tariff.import[2]: 'name' is a required property",
        ),
        (
            lambda s: s.update({"supply": 1.1}),
            "tariff: Additional properties are not allowed ('supply' was unexpected)",
        ),
    ],
)
def test_schema_problems_are_located(change: Any, expected: str) -> None:
    assert problems(edited(WORKWEEK, change)) == [expected]


def test_from_settings_refuses_an_unusable_tariff_with_every_problem() -> None:
    section = edited(WORKWEEK, lambda s: s["import"].pop(1))
    with pytest.raises(InvalidTariff) as raised:
        Tariff.from_settings(section, "Australia/Brisbane")
    assert [str(p) for p in raised.value.problems] == [
        "tariff.import: no import band covers weekends 16:00-21:00"
    ]
    with pytest.raises(InvalidTariff, match=r"site.timezone: unknown time zone 'Mars/Olympus'"):
        Tariff.from_settings(WORKWEEK, "Mars/Olympus")
