"""Tariff prices by hand: band edges, weekdays and weekends, seasons, DST change days."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from nodes.tariff import Tariff

BRISBANE = ZoneInfo("Australia/Brisbane")  # UTC+10 all year
SYDNEY = ZoneInfo("Australia/Sydney")  # UTC+10, UTC+11 from October to April

#: Energex-style time of use, peak on weekdays only, feed-in by window.
WORKWEEK: dict[str, Any] = {
    "import": [
        {"name": "peak", "price": 0.45, "from": "16:00", "to": "21:00", "days": "weekdays"},
        {
            "name": "weekend evening",
            "price": 0.30,
            "from": "16:00",
            "to": "21:00",
            "days": "weekends",
        },
        {"name": "shoulder", "price": 0.28, "from": "21:00", "to": "09:00"},
        {"name": "solar sponge", "price": 0.15, "from": "09:00", "to": "16:00"},
    ],
    "export": [
        {"name": "evening", "price": 0.08, "from": "16:00", "to": "21:00"},
        {"price": 0.05, "from": "21:00", "to": "16:00"},
    ],
    "supply_charge": 1.10,
}


def at(
    tz: ZoneInfo, year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> float:
    return datetime(year, month, day, hour, minute, second, tzinfo=tz).timestamp()


def brisbane() -> Tariff:
    return Tariff.from_settings(WORKWEEK, "Australia/Brisbane")


def test_prices_change_exactly_at_band_edges() -> None:
    tariff = brisbane()  # Monday 2 February 2026
    assert tariff.price_at(at(BRISBANE, 2026, 2, 2, 8, 59, 59)) == (0.28, 0.05)
    assert tariff.price_at(at(BRISBANE, 2026, 2, 2, 9, 0)) == (0.15, 0.05)
    assert tariff.price_at(at(BRISBANE, 2026, 2, 2, 15, 59, 59)) == (0.15, 0.05)
    assert tariff.price_at(at(BRISBANE, 2026, 2, 2, 16, 0)) == (0.45, 0.08)
    assert tariff.price_at(at(BRISBANE, 2026, 2, 2, 20, 59, 59)) == (0.45, 0.08)
    assert tariff.price_at(at(BRISBANE, 2026, 2, 2, 21, 0)) == (0.28, 0.05)
    assert tariff.price_at(at(BRISBANE, 2026, 2, 3, 0, 0)) == (0.28, 0.05)
    # 16:00 Brisbane is 06:00 UTC.
    assert tariff.price_at(datetime(2026, 2, 2, 6, 0, tzinfo=UTC).timestamp())[0] == 0.45
    assert tariff.supply_charge == 1.10


def test_weekdays_and_weekends_differ() -> None:
    tariff = brisbane()
    assert tariff.price_at(at(BRISBANE, 2026, 2, 6, 17, 0))[0] == 0.45  # Friday
    assert tariff.price_at(at(BRISBANE, 2026, 2, 7, 17, 0))[0] == 0.30  # Saturday
    assert tariff.price_at(at(BRISBANE, 2026, 2, 8, 20, 59))[0] == 0.30  # Sunday
    assert tariff.price_at(at(BRISBANE, 2026, 2, 9, 16, 0))[0] == 0.45  # Monday
    assert tariff.bands_at(at(BRISBANE, 2026, 2, 7, 17, 0))[0].name == "weekend evening"


def test_an_overnight_band_belongs_to_the_day_it_starts() -> None:
    section = {
        "import": [
            {"name": "day", "price": 0.30, "from": "07:00", "to": "22:00"},
            {
                "name": "night",
                "price": 0.20,
                "from": "22:00",
                "to": "07:00",
                "days": ["sun", "mon", "tue", "wed", "thu"],
            },
            {
                "name": "weekend night",
                "price": 0.10,
                "from": "22:00",
                "to": "07:00",
                "days": ["fri", "sat"],
            },
        ],
    }
    tariff = Tariff.from_settings(section, "Australia/Brisbane")
    assert tariff.price_at(at(BRISBANE, 2026, 2, 6, 3, 0)) == (0.20, 0.0)  # Fri: Thursday's
    assert tariff.price_at(at(BRISBANE, 2026, 2, 7, 3, 0))[0] == 0.10  # Sat: Friday's
    assert tariff.price_at(at(BRISBANE, 2026, 2, 8, 6, 59))[0] == 0.10  # Sun: Saturday's
    assert tariff.price_at(at(BRISBANE, 2026, 2, 9, 3, 0))[0] == 0.20  # Mon: Sunday's
    assert tariff.price_at(at(BRISBANE, 2026, 2, 9, 7, 0))[0] == 0.30


#: Peak dearer in summer (wrapping the new year) than the rest of the year; the rest all year.
SEASONAL: dict[str, Any] = {
    "import": [
        {"name": "shoulder", "price": 0.28, "from": "21:00", "to": "09:00"},
        {"name": "solar sponge", "price": 0.15, "from": "09:00", "to": "16:00"},
    ],
    "seasons": {
        "summer": {
            "from": "12-01",
            "to": "02-28",
            "import": [{"name": "summer peak", "price": 0.55, "from": "16:00", "to": "21:00"}],
            "export": 0.07,
        },
        "rest": {
            "from": "03-01",
            "to": "11-30",
            "import": [{"name": "peak", "price": 0.40, "from": "16:00", "to": "21:00"}],
            "export": 0.04,
        },
    },
}


def test_seasons_start_and_end_on_their_days_across_the_new_year() -> None:
    tariff = Tariff.from_settings(SEASONAL, "Australia/Brisbane")
    peak = [
        ((2025, 11, 30), 0.40),
        ((2025, 12, 1), 0.55),
        ((2025, 12, 31), 0.55),
        ((2026, 1, 1), 0.55),
        ((2026, 2, 28), 0.55),
        ((2026, 3, 1), 0.40),
        ((2028, 2, 29), 0.55),  # a season ending 02-28 keeps 29 February in leap years
        ((2028, 3, 1), 0.40),
    ]
    for day, price in peak:
        assert tariff.price_at(at(BRISBANE, *day, 17, 0))[0] == price, day
    assert tariff.price_at(at(BRISBANE, 2026, 2, 28, 23, 59, 59)) == (0.28, 0.07)
    assert tariff.price_at(at(BRISBANE, 2026, 3, 1, 0, 0)) == (0.28, 0.04)
    assert tariff.bands_at(at(BRISBANE, 2026, 1, 1, 17, 0))[0].name == "summer peak"


def test_a_season_without_bands_of_its_own_uses_the_all_year_bands() -> None:
    section = {**WORKWEEK, "seasons": {"holidays": {"from": "12-20", "to": "01-10"}}}
    tariff = Tariff.from_settings(section, "Australia/Brisbane")
    assert tariff.price_at(at(BRISBANE, 2026, 1, 5, 17, 0)) == (0.45, 0.08)


def sydney_day(year: int, month: int, day: int) -> tuple[float, float]:
    """Local midnight to the next local midnight."""
    start = datetime(year, month, day, tzinfo=SYDNEY)
    end = datetime.fromordinal(start.toordinal() + 1).replace(tzinfo=SYDNEY)
    return start.timestamp(), end.timestamp()


def test_dst_start_day_has_23_hours_and_peak_stays_on_the_wall_clock() -> None:
    tariff = Tariff.from_settings(WORKWEEK, "Australia/Sydney")
    start, end = sydney_day(2025, 10, 5)  # Sunday: 02:00 AEST becomes 03:00 AEDT
    intervals = tariff.intervals(start, end)
    assert end - start == 23 * 3600
    assert len(intervals) == 46
    assert all(a["end"] == b["start"] for a, b in pairwise(intervals))
    evening = [i for i in intervals if i["descriptor"] == "weekend evening"]
    assert len(evening) == 10  # 16:00-21:00, five hours
    # 16:00 AEDT is 05:00 UTC; the day before, 16:00 AEST was 06:00 UTC.
    assert evening[0]["start"] == datetime(2025, 10, 5, 5, 0, tzinfo=UTC).timestamp()
    saturday = tariff.intervals(*sydney_day(2025, 10, 4))
    first = next(i for i in saturday if i["descriptor"] == "weekend evening")
    assert first["start"] == datetime(2025, 10, 4, 6, 0, tzinfo=UTC).timestamp()


def test_dst_end_day_has_25_hours_and_the_repeated_hour_is_priced_twice() -> None:
    section = {
        "import": [
            {"name": "late", "price": 0.25, "from": "21:00", "to": "02:30"},
            {"name": "early", "price": 0.20, "from": "02:30", "to": "09:00"},
            {"name": "day", "price": 0.35, "from": "09:00", "to": "21:00"},
        ],
        "export": 0.05,
    }
    tariff = Tariff.from_settings(section, "Australia/Sydney")
    start, end = sydney_day(2025, 4, 6)  # Sunday: 03:00 AEDT becomes 02:00 AEST
    intervals = tariff.intervals(start, end)
    assert end - start == 25 * 3600
    assert len(intervals) == 50
    # 02:00 AEDT is 15:00 UTC; the hour from 02:00 comes again at 16:00 UTC (AEST).
    utc = datetime(2025, 4, 5, 15, 0, tzinfo=UTC).timestamp()
    around = [i for i in intervals if utc <= i["start"] < utc + 2.5 * 3600]
    assert [i["descriptor"] for i in around] == ["late", "early", "late", "early", "early"]
    assert tariff.price_at(utc + 15 * 60) == tariff.price_at(utc + 75 * 60) == (0.25, 0.05)


def test_the_hour_skipped_by_dst_start_never_prices() -> None:
    section = {
        "import": [
            {"name": "late", "price": 0.25, "from": "21:00", "to": "02:30"},
            {"name": "early", "price": 0.20, "from": "02:30", "to": "09:00"},
            {"name": "day", "price": 0.35, "from": "09:00", "to": "21:00"},
        ],
    }
    tariff = Tariff.from_settings(section, "Australia/Sydney")
    jump = datetime(2025, 10, 4, 16, 0, tzinfo=UTC).timestamp()  # 02:00 AEST -> 03:00 AEDT
    assert tariff.price_at(jump - 1)[0] == 0.25  # 01:59:59 AEST
    assert tariff.price_at(jump)[0] == 0.20  # 03:00 AEDT: 02:00-02:30 late never happens
    sliced = tariff.intervals(jump - 1800, jump + 1800)
    assert [i["descriptor"] for i in sliced] == ["late", "early"]


def test_intervals_follow_the_prices_shape_and_say_what_is_past_and_future() -> None:
    tariff = brisbane()
    now = at(BRISBANE, 2026, 2, 2, 16, 10)
    intervals = tariff.intervals(at(BRISBANE, 2026, 2, 2, 15, 30), now + 3600, now=now)
    assert intervals[0] == {
        "start": at(BRISBANE, 2026, 2, 2, 15, 30),
        "end": at(BRISBANE, 2026, 2, 2, 16, 0),
        "import_price": 0.15,
        "export_price": 0.05,
        "type": "actual",
        "estimate": False,
        "spike": "none",
        "descriptor": "solar sponge",
        "renewables": None,
    }
    assert [i["type"] for i in intervals] == ["actual", "current", "forecast", "forecast"]
    assert intervals[-1]["end"] == now + 3600  # the last one is cut at the end asked for


def test_a_band_edge_off_the_half_hour_grid_splits_the_slot() -> None:
    section = {
        "import": [
            {"name": "peak", "price": 0.45, "from": "16:15", "to": "21:00"},
            {"name": "rest", "price": 0.25, "from": "21:00", "to": "16:15"},
        ],
    }
    tariff = Tariff.from_settings(section, "Australia/Brisbane")
    intervals = tariff.intervals(at(BRISBANE, 2026, 2, 2, 16, 0), at(BRISBANE, 2026, 2, 2, 17, 0))
    assert [(i["end"] - i["start"], i["import_price"]) for i in intervals] == [
        (900, 0.25),
        (900, 0.45),
        (1800, 0.45),
    ]


def test_slots_align_on_the_local_half_hour_in_a_half_hour_zone() -> None:
    tariff = Tariff.from_settings(WORKWEEK, "Australia/Adelaide")  # UTC+10:30 in February
    adelaide = ZoneInfo("Australia/Adelaide")
    assert tariff.slot_start(at(adelaide, 2026, 2, 2, 16, 29, 59)) == at(adelaide, 2026, 2, 2, 16)
    assert tariff.slot_start(at(adelaide, 2026, 2, 2, 16, 0), 3600) == at(adelaide, 2026, 2, 2, 16)
