"""The ledger's entries as the API pages them, and its query refused with located problems."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from flowengine.database import open_database
from flowengine.errors import InvalidRequest
from nodes.ledger.entries import MAX_LIMIT, EntryQuery, entries
from nodes.ledger.store import ensure_schema, post

BRISBANE = ZoneInfo("Australia/Brisbane")  # UTC+10 all year
NOON = datetime(2026, 3, 2, 2, tzinfo=UTC).timestamp()  # 12:00 on 2 March in Brisbane


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    conn = open_database(tmp_path / "site.db", schema="")
    ensure_schema(conn)
    intervals = [NOON + 300 * i for i in range(6)]
    post(
        conn,
        [
            {
                "key": f"{at}/{kind}",
                "at": at,
                "kind": kind,
                "kwh": 1.0,
                "price": 0.3,
                "amount": -0.3 if kind == "import_cost" else 0.05,
                "cash": True,
            }
            for at in intervals
            for kind in ("import_cost", "export_revenue")
        ],
    )
    post(conn, [], gap={"start": NOON - 3600, "end": NOON, "reason": "the service was down"})
    yield conn
    conn.close()


def query(**params: str) -> EntryQuery:
    return EntryQuery.parse(params, BRISBANE)


def test_entries_come_newest_first_a_page_at_a_time(db: sqlite3.Connection) -> None:
    page = entries(db, query(limit="3"), BRISBANE)
    assert [e["at"] for e in page["entries"]] == ["2026-03-02T12:25:00+10:00"] * 2 + [
        "2026-03-02T12:20:00+10:00"
    ]
    assert page["more"] is True
    first = page["entries"][0]
    assert first["cash"] is True and first["price"] == 0.3  # as posted, with its detail
    assert page["gaps"] == [
        {
            "start": "2026-03-02T11:00:00+10:00",
            "end": "2026-03-02T12:00:00+10:00",
            "hours": 1.0,
            "reason": "the service was down",
            "energy": {},
        }
    ]


def test_entries_filter_by_time_and_kind(db: sqlite3.Connection) -> None:
    page = entries(
        db, query(since="2026-03-02T12:05", until=str(NOON + 900), kind="import_cost"), BRISBANE
    )
    assert [(e["at"][11:16], e["kind"]) for e in page["entries"]] == [
        ("12:10", "import_cost"),
        ("12:05", "import_cost"),
    ]
    assert page["more"] is False
    assert page["since"] == "2026-03-02T12:05:00+10:00"
    assert page["gaps"] == []  # the gap ended before 12:05
    both = entries(db, query(kind="import_cost,export_revenue", limit="1000"), BRISBANE)
    assert len(both["entries"]) == 12


def test_a_date_is_local_midnight_and_an_offset_is_honoured() -> None:
    assert query(since="2026-03-02").since == NOON - 12 * 3600
    assert query(since="2026-03-02T02:00:00+00:00").since == NOON
    assert query(since="2026-03-02T02:00:00Z").since == NOON


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"since": "yesterday"}, "since", "'yesterday' is not a time: give ISO 8601"),
        ({"until": "nan"}, "until", "is not a time"),
        ({"since": "2026-03-02", "until": "2026-03-01"}, "until", "must be after since"),
        ({"kind": "import"}, "kind", "'import' is not a kind of entry (known: import_cost,"),
        ({"limit": "0"}, "limit", f"must be a whole number from 1 to {MAX_LIMIT}"),
        ({"limit": "1001"}, "limit", "from 1 to"),
        ({"limit": "ten"}, "limit", "from 1 to"),
        ({"sinse": "2026-03-02"}, "sinse", "is not a parameter here (known: since, until,"),
    ],
)
def test_a_bad_query_names_its_parameter(params: dict[str, str], field: str, message: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        EntryQuery.parse(params, BRISBANE)
    (problem,) = caught.value.problems
    assert problem.field == field
    assert message in problem.message


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(InvalidRequest) as caught:
        query(since="soon", kind="x", limit="-1")
    assert [p.field for p in caught.value.problems] == ["since", "kind", "limit"]
