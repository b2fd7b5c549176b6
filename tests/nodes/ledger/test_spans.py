"""Figures "so far": fixed charges pro rata to the time the ledger covers, the time before
the ledger began told from gaps after it, and one function for every span.

Brisbane (UTC+10, no daylight saving) for the round figures, Sydney for a 25-hour day.
Every expected figure is worked by hand in the comment beside it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from flowengine.database import open_database
from nodes.ledger.billing import fixed_charges, project, summarise
from nodes.ledger.cycles import close_cycles, statement, window
from nodes.ledger.settings import BillingTerms
from nodes.ledger.spans import coverage, tally
from nodes.ledger.store import ensure_schema, post

BRISBANE = "Australia/Brisbane"
SYDNEY = "Australia/Sydney"
HOUR = 3600.0
DAY = 24 * HOUR


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()


JAN_1 = utc(2025, 12, 31, 14)  # 00:00 on 1 January 2026 in Brisbane
JAN_15 = JAN_1 + 14 * DAY  # 00:00 on 15 January
FEB_1 = JAN_1 + 31 * DAY
TERMS = BillingTerms(
    start_day=1, supply_charge=Decimal("1.10"), monthly_fee=Decimal("15.50"), timezone=BRISBANE
)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    conn = open_database(tmp_path / "site.db", schema="")
    ensure_schema(conn)
    yield conn
    conn.close()


def entry(
    kind: str, at: float, amount: float, kwh: float = 0.0, price: float | None = None
) -> dict[str, Any]:
    return {
        "key": f"{datetime.fromtimestamp(at + 300, UTC).isoformat()}/{kind}",
        "at": at,
        "kind": kind,
        "kwh": kwh,
        "price": price,
        "amount": amount,
    }


def interval(
    at: float, bought: float, price: float, no_battery: float, self_use: float
) -> list[dict[str, Any]]:
    """One tick's cash entry and its two baselines (what it would have cost, as posted)."""
    return [
        entry("import_cost", at, -bought * price, bought, price),
        entry("baseline_no_battery", at, -no_battery),
        entry("baseline_self_use", at, -self_use),
    ]


# -- fixed charges, pro rata ----------------------------------------------------------


def test_three_hours_carry_three_hours_of_fixed_charges_not_a_week() -> None:
    three = [(JAN_15 + 6 * HOUR, JAN_15 + 9 * HOUR)]
    fixed = fixed_charges(three, BRISBANE, Decimal("1.10"), Decimal("15.50"), start_day=1)
    assert fixed.days == Decimal("0.125")  # 3 of 24 hours
    assert fixed.supply == Decimal("0.1375")  # 1.10 x 0.125
    assert fixed.fees == Decimal("15.50") * Decimal("0.125") / 31  # a day's fee is 15.50/31
    assert fixed.fees.quantize(Decimal("0.0001")) == Decimal("0.0625")  # 0.50 a day x 0.125
    assert fixed.touched == 1


def test_whole_days_are_charged_whole_and_a_span_across_midnight_is_split_by_day() -> None:
    ten = fixed_charges([(JAN_1, JAN_1 + 10 * DAY)], BRISBANE, 1.10, 15.50, start_day=1)
    assert (ten.days, ten.supply, ten.fees, ten.touched) == (
        Decimal(10),
        Decimal("11.00"),
        Decimal(5),
        10,
    )
    # 22:00 to 02:00: two hours of each of two days.
    night = fixed_charges([(JAN_15 - 2 * HOUR, JAN_15 + 2 * HOUR)], BRISBANE, 1.20, 0)
    assert (night.days, night.supply, night.touched) == (Decimal(4) / 24, Decimal("0.2"), 2)


def test_a_day_of_the_monthly_fee_is_its_own_cycles_share() -> None:
    # A day in January (31 days) and one in February (28): 15.50/31 + 14.00/28 at 15.50
    # and 14.00 would differ; at one fee, each day is its own cycle's share.
    jan_31, feb_1 = FEB_1 - DAY, FEB_1
    fixed = fixed_charges([(jan_31, feb_1 + DAY)], BRISBANE, 0, Decimal("15.50"), start_day=1)
    assert fixed.fees == Decimal("15.50") / 31 + Decimal("15.50") / 28


def test_a_25_hour_day_charges_by_its_own_length() -> None:
    apr_5 = utc(2026, 4, 4, 13)  # 00:00 on 5 April in Sydney: DST ends at 03:00
    fixed = fixed_charges([(apr_5, apr_5 + DAY)], SYDNEY, Decimal("1.00"), 0)
    assert fixed.days == Decimal("0.96")  # 24 of its 25 hours
    assert fixed.supply == Decimal("0.96")


def test_summarise_with_the_time_covered_charges_pro_rata_and_projects_whole() -> None:
    now = JAN_15 + 9 * HOUR
    events = [entry("import_cost", JAN_15 + 6 * HOUR, -3.00, 10.0)]
    so_far = summarise(
        events,
        JAN_1,
        FEB_1,
        BRISBANE,
        1.10,
        15.50,
        until=now,
        covered=[(JAN_15 + 6 * HOUR, now)],
        start_day=1,
    )
    assert so_far.supply_charges == Decimal("0.1375")
    assert so_far.rounded().monthly_fees == Decimal("0.06")  # 0.0625, to the cent
    assert so_far.charged_days == Decimal("0.125") and so_far.supply_days == 1
    assert so_far.rounded().net_bill == Decimal("3.20")  # 3.00 + 0.14 + 0.06
    whole = project(so_far, 3 / (31 * 24), daily_supply=1.10, monthly_fee=15.50)
    assert whole.supply_charges == Decimal("34.10")  # every day of the cycle, 31 x 1.10
    assert whole.monthly_fees == Decimal("15.50")  # and the whole fee, once
    assert whole.charged_days == 31


# -- coverage: before the ledger began is not a gap ---------------------------------


def test_time_before_the_ledger_began_is_told_from_a_gap_after_it(db: sqlite3.Connection) -> None:
    began = JAN_15 + 6 * HOUR
    post(db, [], gap={"start": began + HOUR, "end": began + 2 * HOUR, "reason": "down"})
    found = coverage(db, JAN_1, began + 3 * HOUR, began)
    assert found.before_s == 14 * DAY + 6 * HOUR  # 1 January to 06:00 on the 15th
    assert found.gap_s == HOUR and found.gaps == 1
    assert found.pieces == ((began, began + HOUR), (began + 2 * HOUR, began + 3 * HOUR))
    assert coverage(db, JAN_1, JAN_15, None).before_s == 14 * DAY  # not begun: all before


def test_the_open_cycle_charges_the_hours_covered_and_warns_only_of_gaps(
    db: sqlite3.Connection,
) -> None:
    began = JAN_15 + 6 * HOUR
    post(db, [], state={"started": began})
    post(db, interval(began, 1.0, 0.30, 0.50, 0.40))
    post(db, [], gap={"start": began + HOUR, "end": began + 2 * HOUR, "reason": "down"})
    current = statement(db, began + 4 * HOUR, TERMS)["current"]
    # 3 of the 4 hours covered (one in a gap): 0.125 days of 1.10 and of 15.50/31.
    assert current["bill"]["charged_days"] == "0.125"
    assert current["bill"]["supply_charges"] == "0.14"  # 0.1375
    assert current["bill"]["monthly_fees"] == "0.06"  # 0.0625
    assert current["bill"]["net_bill"] == "0.50"  # 0.30 + 0.14 + 0.06
    assert current["before_ledger_hours"] == 342.0  # 14 days and 6 hours: no warning
    assert current["gap_hours"] == 1.0  # the only warning
    assert current["unaccounted_hours"] == 343.0  # as before: both
    assert current["no_battery"] == {"energy": "0.50", "net_bill": "0.70", "saving": "0.20"}
    assert current["self_use"]["saving"] == "0.10"


# -- one function for every span ---------------------------------------------------------


def test_the_cycle_today_since_began_and_any_window_agree(db: sqlite3.Connection) -> None:
    """The ledger began on 30 December, so since it began spans a closed cycle (summed
    from its kept totals) and the open one; added up entry by entry it is the same."""
    began = JAN_1 - 2 * DAY + 20 * HOUR  # 20:00 on 30 December
    post(db, [], state={"started": began})
    for at in (began, JAN_1 - HOUR, JAN_1 + 5 * DAY, JAN_15 + 7 * HOUR, JAN_15 + 8 * HOUR):
        post(db, interval(at, 2.0, 0.25, 0.70, 0.60))
    close_cycles(db, JAN_1 + 300, TERMS)
    now = JAN_15 + 9 * HOUR
    shown = statement(db, now, TERMS)
    spans = shown["spans"]
    current = shown["current"]
    for name in ("bill", "no_battery", "self_use"):
        assert spans["cycle"][name] == current[name]
        assert window(db, JAN_1, now, TERMS)[name] == current[name]  # the Graphs window
    assert spans["today"]["bill"]["import_cost"] == "1.00"  # the two ticks of the 15th
    assert spans["today"]["bill"]["charged_days"] == "0.375"  # 00:00 to 09:00
    assert spans["today"]["no_battery"]["saving"] == "0.40"  # 2 x (0.70 - 0.50)
    entry_by_entry = tally(db, began, now, TERMS, began).totals.rounded()
    since = spans["since_began"]
    assert since["bill"]["net_bill"] == str(entry_by_entry.net_bill)
    assert since["bill"]["import_cost"] == "2.50"  # five ticks of 0.50
    assert since["no_battery"]["saving"] == "1.00" == str(entry_by_entry.saving_vs_no_battery)
    assert since["before_ledger_hours"] == 0 and since["intervals"] == 5
    assert shown["closed"][0]["before_ledger_hours"] == 31 * 24 - 28  # all of December's but 28 h


def test_a_window_gives_each_row_its_share_of_the_fixed_charges(db: sqlite3.Connection) -> None:
    began = JAN_15 + 6 * HOUR
    post(db, [], state={"started": began})
    rows = [(JAN_15, JAN_15 + DAY / 2), (JAN_15 + DAY / 2, JAN_15 + 15 * HOUR)]
    figures = window(db, JAN_15, JAN_15 + 15 * HOUR, TERMS, rows)
    shares = [Decimal(v) for v in figures["row_fixed_charges"]]
    # 6 hours of the first half day (the ledger began at 06:00), 3 of the second.
    daily = Decimal("1.10") + Decimal("15.50") / 31
    assert shares == [daily * Decimal("0.25"), daily * Decimal("0.125")]
    assert Decimal(figures["bill"]["net_bill"]) == sum(shares, Decimal(0)).quantize(Decimal("0.01"))


def test_a_fresh_ledger_has_nothing_to_say_and_no_negative_saving(db: sqlite3.Connection) -> None:
    began = JAN_15 + 6 * HOUR
    post(db, [], state={"started": began})
    spans = statement(db, began, TERMS)["spans"]
    for figures in spans.values():
        assert figures["bill"]["net_bill"] == "0.00"
        assert figures["no_battery"] is None and figures["self_use"] is None  # no data yet
        assert figures["intervals"] == 0 and figures["gap_hours"] == 0
