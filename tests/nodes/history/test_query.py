"""The history as the API reads it: the query, weeks from days, cash and prices per row."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from flowengine.errors import InvalidRequest
from nodes.history.counters import counter_values
from nodes.history.issues import record_prices
from nodes.history.query import FIELDS, HistoryQuery, history_rows
from nodes.history.store import record_sample, sample_values
from nodes.ledger.store import ensure_schema as ledger_schema
from nodes.ledger.store import post
from tests.nodes.history.conftest import energy, sample

SYDNEY = ZoneInfo("Australia/Sydney")
#: Thursday 2 April 2026, midnight in Sydney (AEDT, +11); daylight saving ends on Sunday the 5th.
THURSDAY = datetime(2026, 4, 2, tzinfo=SYDNEY).timestamp()
HOUR = 3600.0


def test_a_query_defaults_to_the_last_two_days_of_half_hours_with_every_field() -> None:
    query = HistoryQuery.parse({}, SYDNEY, now=THURSDAY)
    assert query == HistoryQuery("30min", THURSDAY - 2 * 86400, THURSDAY, FIELDS)
    dated = HistoryQuery.parse(
        {
            "resolution": "day",
            "since": "2026-03-01",
            "until": "1775052000",
            "fields": "pv_kwh, pv_kwh,soc_last",
        },
        SYDNEY,
        now=0,
    )
    assert dated.since == datetime(2026, 3, 1, tzinfo=SYDNEY).timestamp()
    assert (dated.until, dated.fields) == (1775052000.0, ("pv_kwh", "soc_last"))


def test_a_query_too_long_for_its_resolution_is_refused() -> None:
    with pytest.raises(InvalidRequest) as refused:
        HistoryQuery.parse({"since": "2026-01-01", "until": "2026-02-02"}, SYDNEY, now=0)
    assert [p.field for p in refused.value.problems] == ["since"]
    assert "at most 31 days" in refused.value.problems[0].message
    assert HistoryQuery.parse({"resolution": "week", "since": "2024-04-01"}, SYDNEY, THURSDAY)


@pytest.fixture
def recorded(site_db: sqlite3.Connection) -> sqlite3.Connection:
    """Hourly samples from Thursday to the next Saturday: 1 kWh of PV an hour, SOC
    rising by 0.01 an hour; prices and cash on the first two hours."""
    for hour in range(10 * 24):
        t = THURSDAY + hour * HOUR
        payload = sample(t, 500, 1000, 0.2 + hour / 1000, energy(hour, 0, 0, 0, 0, 0))
        record_sample(
            site_db,
            t,
            sample_values(payload),
            counter_values(payload["energy_kwh"]),
            zone=SYDNEY,
            gap_after_s=2 * HOUR,
        )
    ledger_schema(site_db)
    post(
        site_db,
        [
            {
                "key": "a",
                "at": THURSDAY,
                "kind": "import_cost",
                "kwh": 1,
                "price": 0.3,
                "amount": -0.30,
            },
            {
                "key": "b",
                "at": THURSDAY + 300,
                "kind": "export_revenue",
                "kwh": 1,
                "price": 0.1,
                "amount": 0.10,
            },
            {
                "key": "c",
                "at": THURSDAY,
                "kind": "import_settlement",
                "kwh": 0.1,
                "price": 0.3,
                "amount": -0.03,
            },
            {
                "key": "d",
                "at": THURSDAY + HOUR,
                "kind": "self_consumption_saving",
                "kwh": 1,
                "price": 0.3,
                "amount": 0.3,
            },
        ],
    )
    intervals = [
        {
            "start": THURSDAY + i * 900,
            "end": THURSDAY + (i + 1) * 900,
            "import_price": 0.20 + i / 10,
            "export_price": 0.05,
        }
        for i in range(2)
    ]
    record_prices(
        site_db,
        {
            "provider": "p",
            "issued_at": THURSDAY - HOUR,
            "fetched_at": THURSDAY - HOUR,
            "data": {"intervals": intervals},
        },
    )
    intervals[1]["import_price"] = 0.50  # the later issue is the price that stood
    record_prices(
        site_db,
        {
            "provider": "p",
            "issued_at": THURSDAY - 60,
            "fetched_at": THURSDAY - 60,
            "data": {"intervals": intervals},
        },
    )
    return site_db


def test_weeks_add_up_their_days_monday_to_sunday_in_the_sites_time(
    recorded: sqlite3.Connection,
) -> None:
    now = THURSDAY + 10 * 86400
    days = history_rows(recorded, HistoryQuery("day", THURSDAY, now), SYDNEY, now)["rows"]
    weeks = history_rows(recorded, HistoryQuery("week", THURSDAY, now), SYDNEY, now)["rows"]
    assert [d["date"] for d in days][:5] == [
        "2026-04-02",
        "2026-04-03",
        "2026-04-04",
        "2026-04-05",
        "2026-04-06",
    ]
    assert days[3]["samples"] == 25  # the day daylight saving ended
    assert [(w["week"], w["start"], w["end"]) for w in weeks] == [
        ("2026-W14", "2026-03-30T00:00:00+11:00", "2026-04-06T00:00:00+10:00"),
        ("2026-W15", "2026-04-06T00:00:00+10:00", "2026-04-13T00:00:00+10:00"),
    ]
    first, second = weeks
    assert first["samples"] == 24 + 24 + 24 + 25 and second["samples"] == 240 - first["samples"]
    assert first["pv_kwh"] == pytest.approx(sum(d["pv_kwh"] for d in days[:4]))
    assert first["soc_min"] == 0.2 and first["soc_last"] == days[3]["soc_last"]
    assert first["load_w"] == 500 and first["import_cost"] == pytest.approx(0.33)
    assert second["import_cost"] is None  # no cash entry that week


def test_a_half_hour_carries_its_cash_and_its_time_weighted_price(
    recorded: sqlite3.Connection,
) -> None:
    query = HistoryQuery(
        "30min",
        THURSDAY,
        THURSDAY + 2 * HOUR,
        ("import_cost", "export_revenue", "net_cost", "import_price", "export_price"),
    )
    answer = history_rows(recorded, query, SYDNEY, THURSDAY + 10 * HOUR)
    assert answer["units"]["import_price"] == "$/kWh" and answer["ledger"] is True
    first, second = answer["rows"]  # hourly samples: the half hours between have no row
    assert (first["start"], second["start"]) == (
        "2026-04-02T00:00:00+11:00",
        "2026-04-02T01:00:00+11:00",
    )
    assert (first["import_cost"], first["export_revenue"]) == (pytest.approx(0.33), 0.10)
    assert first["net_cost"] == pytest.approx(0.23)
    assert first["import_price"] == pytest.approx((0.20 + 0.50) / 2)  # the later issue
    assert first["export_price"] == pytest.approx(0.05)
    assert second["import_cost"] is None and second["import_price"] is None
