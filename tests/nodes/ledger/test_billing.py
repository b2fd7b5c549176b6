"""Billing cycles in Sydney wall time, and cycle totals to the cent.

Sydney is UTC+10 (AEST) from April to October and UTC+11 (AEDT) from October to
April; in 2026 DST ends on Sunday 5 April (03:00 -> 02:00) and starts on Sunday
4 October (02:00 -> 03:00). Every expected epoch below is written as the UTC
time of a Sydney midnight, so it can be checked by hand.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from nodes.ledger.billing import (
    BillingError,
    CycleTotals,
    closed_cycles,
    cycle_bounds,
    days_in,
    elapsed_fraction,
    project,
    summarise,
)

SYDNEY = "Australia/Sydney"
HOUR = 3600


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> float:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp()


# Sydney midnights in winter (AEST, UTC+10): local midnight on the 15th is 14:00 UTC on the 14th.
JUN_15 = utc(2026, 6, 14, 14)
JUL_15 = utc(2026, 7, 14, 14)
AUG_15 = utc(2026, 8, 14, 14)


def event(kind: str, at: float, amount: float, kwh: float = 0.0) -> dict[str, Any]:
    return {"at": at, "kind": kind, "kwh": kwh, "amount": amount}


# --- cycle bounds ------------------------------------------------------------------------


def test_one_second_before_local_midnight_is_the_old_cycle_and_midnight_the_new() -> None:
    assert cycle_bounds(JUL_15 - 1, 15, SYDNEY) == (JUN_15, JUL_15)  # 23:59:59 on 14 July
    assert cycle_bounds(JUL_15, 15, SYDNEY) == (JUL_15, AUG_15)  # 00:00:00 on 15 July


def test_the_boundary_is_local_midnight_not_utc_midnight() -> None:
    # 00:00 UTC on 15 July is already 10:00 on the 15th in Sydney: well inside the new cycle,
    # and 23:00 UTC on 14 July (09:00 local on the 15th) too.
    assert cycle_bounds(utc(2026, 7, 14, 23), 15, SYDNEY) == (JUL_15, AUG_15)
    assert cycle_bounds(utc(2026, 7, 14, 13, 59, 59), 15, SYDNEY) == (JUN_15, JUL_15)


def test_start_day_28_in_february() -> None:
    feb_28 = utc(2026, 2, 27, 13)  # AEDT, UTC+11
    mar_28 = utc(2026, 3, 27, 13)
    jan_28 = utc(2026, 1, 27, 13)
    assert cycle_bounds(feb_28, 28, SYDNEY) == (feb_28, mar_28)
    assert cycle_bounds(feb_28 - 1, 28, SYDNEY) == (jan_28, feb_28)
    assert days_in(feb_28, mar_28, SYDNEY) == 28
    assert days_in(jan_28, feb_28, SYDNEY) == 31
    leap_start, leap_end = cycle_bounds(utc(2028, 3, 1), 28, SYDNEY)
    assert days_in(leap_start, leap_end, SYDNEY) == 29  # 28 Feb to 28 Mar 2028 holds 29 Feb


def test_a_cycle_holding_the_october_dst_start_is_an_hour_short() -> None:
    oct_1 = utc(2026, 9, 30, 14)  # AEST midnight
    nov_1 = utc(2026, 10, 31, 13)  # AEDT midnight
    assert cycle_bounds(utc(2026, 10, 10), 1, SYDNEY) == (oct_1, nov_1)
    assert nov_1 - oct_1 == 31 * 24 * HOUR - HOUR
    assert days_in(oct_1, nov_1, SYDNEY) == 31


def test_a_cycle_starting_on_the_dst_start_day_begins_at_that_midnight() -> None:
    oct_4 = utc(2026, 10, 3, 14)  # midnight before the 02:00 change, still AEST
    nov_4 = utc(2026, 11, 3, 13)
    assert cycle_bounds(oct_4, 4, SYDNEY) == (oct_4, nov_4)
    assert cycle_bounds(oct_4 - 1, 4, SYDNEY)[1] == oct_4
    assert days_in(oct_4, nov_4, SYDNEY) == 31


def test_a_cycle_holding_the_april_dst_end_is_an_hour_long() -> None:
    apr_1 = utc(2026, 3, 31, 13)  # AEDT midnight
    may_1 = utc(2026, 4, 30, 14)  # AEST midnight
    assert cycle_bounds(utc(2026, 4, 5, 2), 1, SYDNEY) == (apr_1, may_1)
    assert may_1 - apr_1 == 30 * 24 * HOUR + HOUR
    assert days_in(apr_1, may_1, SYDNEY) == 30
    # Naive UTC day counting would put local midnight on 1 May an hour early, in April.
    assert cycle_bounds(may_1 - HOUR, 1, SYDNEY) == (apr_1, may_1)


def test_a_skipped_midnight_starts_the_day_at_the_first_instant_after_the_gap() -> None:
    # Santiago skips 00:00-01:00 on 6 Sep 2026: the day begins at 01:00 -03 (04:00 UTC).
    sep_6 = utc(2026, 9, 6, 4)
    aug_6 = utc(2026, 8, 6, 4)  # midnight -04
    assert cycle_bounds(sep_6, 6, "America/Santiago") == (sep_6, utc(2026, 10, 6, 3))
    assert cycle_bounds(sep_6 - 1, 6, "America/Santiago") == (aug_6, sep_6)
    assert days_in(aug_6, sep_6, "America/Santiago") == 31


def test_days_in_an_open_cycle_count_the_day_begun() -> None:
    assert days_in(JUL_15, JUL_15 + 12 * HOUR, SYDNEY) == 1
    assert days_in(JUL_15, JUL_15 + 10 * 24 * HOUR, SYDNEY) == 10  # up to midnight on the 25th
    assert days_in(JUL_15, JUL_15 + 10 * 24 * HOUR + 1, SYDNEY) == 11
    assert days_in(JUL_15, JUL_15, SYDNEY) == 0


def test_closed_cycles_are_the_ones_that_have_ended_oldest_first() -> None:
    may_15 = utc(2026, 5, 14, 14)
    assert closed_cycles(JUL_15, 15, SYDNEY, 2) == [(may_15, JUN_15), (JUN_15, JUL_15)]
    assert closed_cycles(JUL_15 - 1, 15, SYDNEY, 1) == [(may_15, JUN_15)]
    assert closed_cycles(JUL_15, 15, SYDNEY, 0) == []


def test_closed_cycles_cross_a_year_end() -> None:
    dec_1 = utc(2025, 11, 30, 13)
    jan_1 = utc(2025, 12, 31, 13)
    feb_1 = utc(2026, 1, 31, 13)
    assert closed_cycles(utc(2026, 2, 10), 1, SYDNEY, 2) == [(dec_1, jan_1), (jan_1, feb_1)]


@pytest.mark.parametrize("start_day", [0, 29, 31, True, 1.0, "1"])
def test_a_start_day_outside_1_to_28_is_refused(start_day: Any) -> None:
    with pytest.raises(
        BillingError, match="start_day must be a whole day of the month from 1 to 28"
    ):
        cycle_bounds(JUL_15, start_day, SYDNEY)


def test_an_unknown_time_zone_is_named() -> None:
    with pytest.raises(BillingError, match="'Australia/Sydnee' is not a known IANA zone"):
        cycle_bounds(JUL_15, 15, "Australia/Sydnee")


# --- totals ------------------------------------------------------------------------------

JULY_EVENTS = [
    event("import_cost", JUL_15 - 1, -100.0, 300.0),  # 23:59:59 on the 14th: last cycle
    event("import_cost", JUL_15, -3.00, 10.0),  # 10 kWh at 30c, first instant of the cycle
    event("import_cost", JUL_15 + 5 * HOUR, -0.625, 2.5),  # 2.5 kWh at 25c
    event("export_revenue", JUL_15 + 12 * HOUR, 0.40, 8.0),  # 8 kWh at 5c
    event("self_consumption_saving", JUL_15 + 12 * HOUR, 1.20),
    event("arbitrage_pnl", JUL_15 + 18 * HOUR, 0.75),
    event("battery_wear", JUL_15 + 18 * HOUR, -0.33),  # not a bill item
    event("import_cost", AUG_15, -50.0, 150.0),  # 00:00 on 15 Aug: next cycle
]


def test_a_cycle_totals_as_the_retailer_bills_it() -> None:
    totals = summarise(JULY_EVENTS, JUL_15, AUG_15, SYDNEY, 1.10, 5.00)
    assert totals.import_kwh == Decimal("12.5")
    assert totals.export_kwh == Decimal("8.0")
    assert totals.import_cost == Decimal("3.625")
    assert totals.export_revenue == Decimal("0.40")
    assert totals.supply_days == totals.cycle_days == 31
    assert totals.supply_charges == Decimal("34.10")  # 31 days x $1.10
    assert totals.monthly_fees == Decimal("5.00")
    # 3.625 - 0.40 + 34.10 + 5.00, exactly: the savings are not in it.
    assert totals.net_bill == Decimal("42.325")
    assert totals.self_consumption_value == Decimal("1.20")
    assert totals.arbitrage_pnl == Decimal("0.75")


def test_rounded_is_to_the_cent_half_up_and_its_net_adds_up_the_printed_lines() -> None:
    shown = summarise(JULY_EVENTS, JUL_15, AUG_15, SYDNEY, 1.10, 5.00).rounded()
    assert str(shown.import_cost) == "3.63"  # 3.625 rounds up, not to even
    assert str(shown.export_revenue) == "0.40"
    assert str(shown.supply_charges) == "34.10"
    assert str(shown.net_bill) == "42.33"
    assert str(shown.import_kwh) == "12.500"


def test_float_amounts_sum_exactly() -> None:
    events = [event("import_cost", JUL_15 + i, -0.1, 0.1) for i in range(3)]
    totals = summarise(events, JUL_15, AUG_15, SYDNEY, 0, 0)
    assert totals.import_cost == Decimal("0.3")  # not 0.30000000000000004
    assert totals.import_kwh == Decimal("0.3")


def test_negative_prices_make_imports_a_credit_and_exports_a_cost() -> None:
    events = [
        event("import_cost", JUL_15 + HOUR, 0.20, 4.0),  # 4 kWh at -5c: we were paid
        event("import_cost", JUL_15 + 2 * HOUR, -0.90, 3.0),  # 3 kWh at 30c
        event("export_revenue", JUL_15 + 3 * HOUR, -0.02, 2.0),  # 2 kWh at -1c: we paid
    ]
    totals = summarise(events, JUL_15, AUG_15, SYDNEY, 1.00, 0)
    assert totals.import_kwh == Decimal("7.0")
    assert totals.import_cost == Decimal("0.70")  # 0.90 paid less 0.20 received
    assert totals.export_revenue == Decimal("-0.02")
    assert totals.net_bill == Decimal("31.72")  # 0.70 + 0.02 + 31 x 1.00

    only_negative = summarise(events[:1], JUL_15, AUG_15, SYDNEY, 0, 0)
    assert only_negative.import_cost == Decimal("-0.20")
    assert only_negative.net_bill == Decimal("-0.20")


def test_supply_follows_the_local_days_of_a_dst_cycle() -> None:
    apr_1 = utc(2026, 3, 31, 13)
    may_1 = utc(2026, 4, 30, 14)
    totals = summarise([], apr_1, may_1, SYDNEY, 1.00, 0)
    assert totals.supply_charges == Decimal("30.00")
    assert totals.net_bill == Decimal("30.00")


def test_counterfactual_bills_are_carried_beside_the_bill() -> None:
    totals = summarise(
        [], JUL_15, AUG_15, SYDNEY, 0, 0, no_battery_bill=120.456, self_use_bill=80.1
    )
    assert totals.no_battery_bill == Decimal("120.456")
    assert totals.rounded().no_battery_bill == Decimal("120.46")
    assert totals.self_use_bill == Decimal("80.1")
    assert totals.net_bill == 0
    assert CycleTotals().no_battery_bill is None


def test_an_open_cycle_charges_supply_for_days_begun_and_projects_linearly() -> None:
    now = JUL_15 + 10 * 24 * HOUR  # midnight starting 25 July: 10 of 31 days done
    events = [
        event("import_cost", JUL_15 + HOUR, -3.10, 10.0),
        event("export_revenue", JUL_15 + 2 * HOUR, 1.00, 20.0),
        event("arbitrage_pnl", JUL_15 + 3 * HOUR, 0.50),
    ]
    so_far = summarise(events, JUL_15, AUG_15, SYDNEY, 1.10, 5.00, until=now, no_battery_bill=20.0)
    assert so_far.supply_days == 10
    assert so_far.supply_charges == Decimal("11.00")
    assert so_far.net_bill == Decimal("18.10")  # 3.10 - 1.00 + 11.00 + 5.00

    fraction = elapsed_fraction(JUL_15, AUG_15, now)
    assert fraction == pytest.approx(10 / 31)
    projected = project(so_far, fraction).rounded()
    assert projected.import_cost == Decimal("9.61")  # 3.10 x 31/10
    assert projected.export_revenue == Decimal("3.10")
    assert projected.import_kwh == Decimal("31.000")
    assert projected.arbitrage_pnl == Decimal("1.55")
    assert projected.no_battery_bill == Decimal("62.00")
    assert projected.supply_charges == Decimal("34.10")  # every day of the cycle
    assert projected.monthly_fees == Decimal("5.00")  # once, not scaled
    assert projected.net_bill == Decimal("45.61")  # 9.61 - 3.10 + 34.10 + 5.00


def test_a_closed_cycle_projects_to_itself() -> None:
    totals = summarise(JULY_EVENTS, JUL_15, AUG_15, SYDNEY, 1.10, 5.00)
    assert project(totals, 1.0) == totals


@pytest.mark.parametrize("fraction", [0, -0.1, 1.5, float("nan")])
def test_a_projection_needs_a_fraction_above_0_and_at_most_1(fraction: float) -> None:
    with pytest.raises(BillingError, match="elapsed_fraction must be above 0 and at most 1"):
        project(CycleTotals(), fraction)


def test_an_event_missing_its_amount_is_named_by_position_and_kind() -> None:
    events = [
        event("import_cost", JUL_15, -1.0, 1.0),
        {"at": JUL_15, "kind": "export_revenue", "kwh": 1},
    ]
    with pytest.raises(
        BillingError, match=r"ledger event \[1\] \(export_revenue\) has no 'amount'"
    ):
        summarise(events, JUL_15, AUG_15, SYDNEY, 0, 0)


def test_a_non_numeric_amount_is_named() -> None:
    events = [event("import_cost", JUL_15, -1.0, 1.0) | {"amount": "1.00"}]
    with pytest.raises(
        BillingError, match=r"ledger event \[0\] \(import_cost\) 'amount' must be a number"
    ):
        summarise(events, JUL_15, AUG_15, SYDNEY, 0, 0)


def test_a_negative_supply_charge_is_refused() -> None:
    with pytest.raises(BillingError, match="daily_supply must not be negative"):
        summarise([], JUL_15, AUG_15, SYDNEY, -1, 0)
