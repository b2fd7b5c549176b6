"""Billing cycles closed, kept and re-closed in a real site database, in Sydney wall time.

Sydney's daylight saving ends on Sunday 5 April 2026 (03:00 AEDT -> 02:00 AEST), so with
``start_day: 5`` the cycle holding it runs from midnight on 5 April (UTC+11) to midnight
on 5 May (UTC+10): 30 billed days, 30 x 24 + 1 hours. Every expected figure below is
worked by hand in the comment beside it.
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
from flowengine.migrations import migrate, schema_version
from nodes.ledger.cycles import close_cycles, closed, kept, statement
from nodes.ledger.settings import BillingTerms
from nodes.ledger.store import (
    COMPONENT,
    MIGRATIONS,
    NoLedger,
    ensure_schema,
    post,
    require_schema,
)

SYDNEY = "Australia/Sydney"
HOUR = 3600.0
DAY = 24 * HOUR


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()


MAR_5 = utc(2026, 3, 4, 13)  # 00:00 on 5 March, AEDT (UTC+11)
APR_5 = utc(2026, 4, 4, 13)  # 00:00 on 5 April, still AEDT: DST ends at 03:00 that day
MAY_5 = utc(2026, 5, 4, 14)  # 00:00 on 5 May, AEST (UTC+10)
JUN_5 = utc(2026, 6, 4, 14)
JUL_5 = utc(2026, 7, 4, 14)

TERMS = BillingTerms(
    start_day=5, supply_charge=Decimal("1.10"), monthly_fee=Decimal("15.00"), timezone=SYDNEY
)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    conn = open_database(tmp_path / "site.db", schema="")
    ensure_schema(conn)
    yield conn
    conn.close()


def entry(kind: str, at: float, amount: float, kwh: float = 0.0) -> dict[str, Any]:
    return {
        "key": f"{at}/{kind}",
        "at": at,
        "kind": kind,
        "kwh": kwh,
        "price": None,
        "amount": amount,
    }


def started(db: sqlite3.Connection, at: float) -> None:
    """The ledger's first reading, as ledger.post records it."""
    post(db, [], state={"started": at})


APRIL = [
    entry("import_cost", APR_5, -3.00, 10.0),  # the cycle's first instant: 10 kWh at 30c
    entry("export_revenue", APR_5 + 12 * HOUR, 0.40, 8.0),  # 8 kWh at 5c
    entry("self_consumption_saving", APR_5 + 12 * HOUR, 1.20),
    entry("arbitrage_pnl", APR_5 + 18 * HOUR, 0.75),
    entry("baseline_no_battery", APR_5, -5.25),  # with no battery it would have cost 5.25
    entry("baseline_self_use", APR_5, -4.10),  # with the inverter's self-use, 4.10
    entry("import_cost", MAY_5 - 1, -0.125, 0.5),  # 23:59:59 on 4 May: still April's cycle
    entry("import_cost", MAY_5, -100.0, 300.0),  # 00:00 on 5 May: the next cycle's
]


def test_a_dst_cycle_closes_at_local_midnight_with_its_bill_to_the_cent(
    db: sqlite3.Connection,
) -> None:
    started(db, APR_5)
    post(db, APRIL)
    assert close_cycles(db, MAY_5 - 1, TERMS) == []  # one second early: still open
    (cycle,) = close_cycles(db, MAY_5, TERMS)  # the boundary itself closes it
    assert (cycle.start, cycle.end) == (APR_5, MAY_5)
    assert cycle.end - cycle.start == 30 * DAY + HOUR  # the hour DST gave back
    totals = cycle.totals
    assert totals.cycle_days == totals.supply_days == 30  # 5 April .. 4 May
    assert totals.import_cost == Decimal("3.125")  # 3.00 + 0.125, not the 5 May 100.00
    assert totals.supply_charges == Decimal("33.00")  # 30 x 1.10
    assert totals.net_bill == Decimal("50.725")  # 3.125 - 0.40 + 33.00 + 15.00
    shown = totals.rounded()
    assert str(shown.net_bill) == "50.73"  # 3.13 - 0.40 + 33.00 + 15.00, as printed
    assert str(shown.no_battery_net_bill) == "53.25"  # 5.25 + 33.00 + 15.00
    assert str(shown.saving_vs_no_battery) == "2.52"  # 53.25 - 50.73
    assert str(shown.self_use_net_bill) == "52.10"  # 4.10 + 33.00 + 15.00
    assert str(shown.saving_vs_self_use) == "1.37"
    assert (cycle.revision, cycle.closed_at, cycle.complete) == (1, MAY_5, True)


def test_closing_is_idempotent_and_the_cycle_is_kept(db: sqlite3.Connection) -> None:
    started(db, APR_5)
    post(db, APRIL)
    (first,) = close_cycles(db, MAY_5 + 300, TERMS)
    assert close_cycles(db, MAY_5 + 600, TERMS) == []  # nothing new: nothing written
    assert close_cycles(db, MAY_5 + 900, TERMS) == []
    assert closed(db) == [first]


def test_a_late_entry_re_closes_its_cycle_with_the_terms_it_closed_with(
    db: sqlite3.Connection,
) -> None:
    started(db, APR_5)
    post(db, APRIL)
    close_cycles(db, MAY_5 + 300, TERMS)
    # A day later the retailer's meter data settles 20 April: 1 kWh more imported at 30c.
    post(db, [entry("import_settlement", APR_5 + 15 * DAY, -0.30, 1.0)])
    dearer = BillingTerms(5, Decimal("2.00"), Decimal("0"), SYDNEY)  # the settings changed since
    (again,) = close_cycles(db, MAY_5 + DAY, dearer)
    assert again.totals.import_cost == Decimal("3.425")  # 3.125 + 0.30
    assert again.totals.import_kwh == Decimal("11.5")
    assert again.totals.supply_charges == Decimal("33.00")  # still 30 x 1.10
    assert (again.revision, again.closed_at, again.updated_at) == (2, MAY_5 + 300, MAY_5 + DAY)
    assert kept(db, APR_5) == again
    assert close_cycles(db, MAY_5 + DAY + 300, dearer) == []  # seen: not again


def test_an_entry_in_the_open_cycle_leaves_the_closed_ones_alone(db: sqlite3.Connection) -> None:
    started(db, APR_5)
    post(db, APRIL)
    close_cycles(db, MAY_5 + 300, TERMS)
    post(db, [entry("import_cost", MAY_5 + 2 * DAY, -1.0, 3.0)])
    assert close_cycles(db, MAY_5 + 2 * DAY + 300, TERMS) == []
    assert closed(db)[0].revision == 1


def test_every_ended_cycle_is_kept_even_one_the_service_missed_entirely(
    db: sqlite3.Connection,
) -> None:
    started(db, MAR_5 + 10 * DAY)  # the ledger began on 15 March
    post(db, [entry("import_cost", MAR_5 + 10 * DAY, -1.0, 4.0)])
    gap = {"start": MAR_5 + 20 * DAY, "end": JUN_5 + DAY, "reason": "no reading for ages"}
    post(db, [entry("import_cost", JUN_5 + DAY, -2.0, 8.0)], gap=gap)
    written = close_cycles(db, JUL_5, TERMS)
    assert [(c.start, c.end) for c in written] == [
        (MAR_5, APR_5),
        (APR_5, MAY_5),
        (MAY_5, JUN_5),
        (JUN_5, JUL_5),
    ]
    march, april, may, june = written
    # March: before the ledger began (10 days) and the gap from 25 March (11 days).
    assert (march.gaps, march.unaccounted_s) == (1, 21 * DAY)
    assert (april.gaps, april.unaccounted_s, april.complete) == (1, 30 * DAY + HOUR, False)
    assert april.totals.import_cost == 0
    assert april.totals.supply_charges == Decimal("33.00")  # the retailer still bills them
    assert (may.gaps, may.unaccounted_s) == (1, 31 * DAY)
    assert (june.gaps, june.unaccounted_s) == (1, DAY)  # the gap's last day, 5 June
    assert june.totals.import_cost == Decimal("2.0")


def test_a_new_start_day_takes_effect_at_the_next_boundary(db: sqlite3.Connection) -> None:
    started(db, APR_5)
    post(db, APRIL)
    close_cycles(db, MAY_5, TERMS)
    on_the_20th = BillingTerms(20, Decimal("1.10"), Decimal("15.00"), SYDNEY)
    may_20 = MAY_5 + 15 * DAY
    (short,) = close_cycles(db, may_20, on_the_20th)
    assert (short.start, short.end) == (MAY_5, may_20)  # a short cycle, as the retailer bills it
    assert short.totals.supply_charges == Decimal("16.50")  # 15 days x 1.10
    assert short.totals.import_cost == Decimal("100.0")


def test_the_statement_shows_the_open_cycle_and_an_ended_one_not_yet_stored(
    db: sqlite3.Connection,
) -> None:
    started(db, APR_5)
    post(db, APRIL)
    now = MAY_5 + 3 * DAY  # no posting since the boundary has closed April's cycle yet
    shown = statement(db, now, TERMS)
    (april,) = shown["closed"]
    assert (april["start"], april["end"]) == (
        "2026-04-05T00:00:00+11:00",
        "2026-05-05T00:00:00+10:00",
    )
    assert april["stored"] is False
    assert april["bill"]["net_bill"] == "50.73"
    assert april["no_battery"] == {"energy": "5.25", "net_bill": "53.25", "saving": "2.52"}
    current = shown["current"]
    assert (current["start"], current["end"]) == (
        "2026-05-05T00:00:00+10:00",
        "2026-06-05T00:00:00+10:00",
    )
    assert current["bill"]["supply_days"] == 3  # 5, 6 and 7 May covered
    # So far the fixed charges are pro rata to the 3 days covered: 3 x 1.10 of supply and
    # 3/31 of the 15.00 fee (1.4516 -> 1.45): 100.00 + 3.30 + 1.45.
    assert current["bill"]["charged_days"] == "3.000"
    assert current["bill"]["net_bill"] == "104.75"
    projected = current["projected"]
    assert current["accounted_fraction"] == round(3 / 31, 4)
    assert projected["bill"]["import_cost"] == "1033.33"  # 100.00 x 31 / 3
    assert projected["bill"]["supply_charges"] == "34.10"  # 31 days x 1.10
    assert projected["bill"]["net_bill"] == "1082.43"  # 1033.33 + 34.10 + 15.00
    assert current["no_battery"] is None  # no baseline entries in it yet
    close_cycles(db, now, TERMS)
    assert statement(db, now, TERMS)["closed"][0]["stored"] is True


def test_the_open_cycle_projects_over_the_time_accounted_for(db: sqlite3.Connection) -> None:
    started(db, APR_5 + 10 * DAY)  # the ledger began 10 days into the cycle
    post(db, [entry("import_cost", APR_5 + 10 * DAY, -10.0, 30.0)])
    current = statement(db, APR_5 + 20 * DAY, TERMS)["current"]
    assert current["unaccounted_hours"] == 240.0
    assert current["complete"] is False
    # 10 days accounted out of 30 days and 1 hour: $10 so far is $30.04 over the cycle.
    assert current["projected"]["bill"]["import_cost"] == "30.04"


def test_an_empty_ledger_has_an_open_cycle_all_unaccounted(db: sqlite3.Connection) -> None:
    shown = statement(db, APR_5 + DAY, TERMS)
    assert shown["closed"] == [] and shown["ledger_began"] is None
    assert shown["current"]["unaccounted_hours"] == 24.0
    assert shown["current"]["projected"] is None
    assert close_cycles(db, JUL_5, TERMS) == []


def test_a_v1_ledger_file_is_upgraded_and_its_past_cycles_kept(tmp_path: Path) -> None:
    path = tmp_path / "site.db"
    old = open_database(path, schema="")
    assert migrate(old, COMPONENT, MIGRATIONS[:1]) == 1  # the release before cycles were kept
    post(old, APRIL, state={"last": {"at": MAY_5 + 300}})
    old.close()

    db = open_database(path, schema="")
    ensure_schema(db)  # what ledger.post does on start
    assert schema_version(db, COMPONENT) == 2
    assert len(db.execute("SELECT key FROM ledger_events").fetchall()) == len(APRIL)
    (april,) = close_cycles(db, MAY_5 + 600, TERMS)
    assert (april.start, april.end, april.revision) == (APR_5, MAY_5, 1)
    assert april.totals.net_bill == Decimal("50.725")
    assert april.complete  # the ledger began with its first entry, on the boundary
    db.close()
    again = open_database(path, schema="")
    assert closed(again) == [april]  # kept across a restart
    again.close()


def test_a_database_without_a_current_ledger_is_said_to_have_none(tmp_path: Path) -> None:
    db = open_database(tmp_path / "site.db", schema="")
    with pytest.raises(NoLedger, match="no ledger in the site database"):
        require_schema(db)
    migrate(db, COMPONENT, MIGRATIONS[:1])
    with pytest.raises(NoLedger, match="schema 1, this release keeps 2"):
        require_schema(db)
    ensure_schema(db)
    require_schema(db)
    db.close()


def test_a_baseline_that_cost_nothing_is_a_zero_bill_not_a_missing_one(
    db: sqlite3.Connection,
) -> None:
    started(db, APR_5)
    post(db, [entry("baseline_self_use", APR_5, 0.0), entry("import_cost", APR_5, 0.0)])
    current = statement(db, APR_5 + DAY, TERMS)["current"]
    # A day of the 25-hour 5 April covered (24/25 of it), pro rata: 0.96 x 1.10 = 1.056 of
    # supply and 0.96/30 of the 15.00 fee = 0.48: 1.06 + 0.48.
    assert current["self_use"] == {"energy": "0.00", "net_bill": "1.54", "saving": "0.00"}
    assert current["no_battery"] is None  # never posted: unknown, not free


def test_a_cycle_is_projected_only_once_a_day_is_accounted_for(db: sqlite3.Connection) -> None:
    started(db, APR_5)
    post(db, [entry("import_cost", APR_5, -1.0, 3.0)])
    assert statement(db, APR_5 + 6 * 3600, TERMS)["current"]["projected"] is None
    assert statement(db, APR_5 + DAY, TERMS)["current"]["projected"] is not None
