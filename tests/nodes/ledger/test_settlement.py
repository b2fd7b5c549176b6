"""Settling against the retailer's meter, checked by hand: a slot's cash entries then add
up to what the meter billed, once, and only when no provisional entry can still come."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from flowengine.database import open_database
from nodes.ledger.billing import summarise
from nodes.ledger.settlement import UsageError, ledger_start, settle
from nodes.ledger.store import ensure_schema, events_between, load_state, post

SLOT = 1800.0


def ledger(tmp_path: Path) -> sqlite3.Connection:
    db = open_database(tmp_path / "site.db", schema="")
    ensure_schema(db)
    return db


def provisional(at: float, kind: str, kwh: float, price: float) -> dict[str, Any]:
    """A tick's cash entry as ledger.post books it (money spent on imports is < 0)."""
    amount = -kwh * price if kind == "import_cost" else kwh * price
    return {
        "key": f"{at:.0f}/{kind}",
        "at": at,
        "kind": kind,
        "kwh": kwh,
        "price": price,
        "amount": amount,
    }


def meter(
    start: float,
    import_kwh: float,
    import_cost: float,
    export_kwh: float = 0.0,
    export_revenue: float = 0.0,
    quality: str = "billable",
) -> dict[str, Any]:
    return {
        "start": start,
        "end": start + SLOT,
        "import_kwh": import_kwh,
        "import_cost": import_cost,
        "export_kwh": export_kwh,
        "export_revenue": export_revenue,
        "quality": quality,
    }


def by_kind(db: sqlite3.Connection, kind: str) -> list[dict[str, Any]]:
    return [e for e in events_between(db, 0, 1e12) if e["kind"] == kind]


def test_a_slot_is_settled_to_what_the_meter_billed(tmp_path: Path) -> None:
    db = ledger(tmp_path)
    # The counters booked 0.3 kWh at 30c in three ticks (0.1 kWh steps): $0.09.
    post(db, [provisional(t, "import_cost", 0.1, 0.30) for t in (0, 300, 600)])
    post(db, [provisional(900, "export_revenue", 0.2, 0.05)])
    # The meter read 0.34 kWh in ($0.102) and 0.17 kWh out ($0.0085).
    assert settle(db, [meter(0, 0.34, 0.102, 0.17, 0.0085)], since=0, through=1800) == 2
    [imports] = by_kind(db, "import_settlement")
    assert imports["kwh"] == pytest.approx(0.04)
    assert imports["amount"] == pytest.approx(-0.012)  # 1.2c more was spent than booked
    assert imports["at"] == 0 and imports["key"] == "1970-01-01T00:30:00+00:00/import_settlement"
    [exports] = by_kind(db, "export_settlement")
    assert exports["kwh"] == pytest.approx(-0.03)
    assert exports["amount"] == pytest.approx(-0.0015)  # 0.15c less was earned
    totals = summarise(events_between(db, 0, SLOT), 0, SLOT, "UTC", 0, 0)
    assert float(totals.import_cost) == pytest.approx(0.102)
    assert float(totals.export_revenue) == pytest.approx(0.0085)
    assert float(totals.import_kwh) == pytest.approx(0.34)
    # Fetched again (the reading repeats every slot): nothing is settled twice.
    assert settle(db, [meter(0, 0.34, 0.102, 0.17, 0.0085)], since=0, through=9999) == 0


def test_negative_prices_settle_with_their_sign(tmp_path: Path) -> None:
    db = ledger(tmp_path)
    post(db, [provisional(0, "import_cost", 1.0, -0.05)])  # paid 5c/kWh to import: +$0.05
    post(db, [provisional(0, "export_revenue", 0.5, -0.10)])  # exporting cost 10c/kWh
    settle(db, [meter(0, 1.1, -0.055, 0.4, -0.04)], since=0, through=SLOT)
    totals = summarise(events_between(db, 0, SLOT), 0, SLOT, "UTC", 0, 0)
    assert float(totals.import_cost) == pytest.approx(-0.055)  # the retailer paid us
    assert float(totals.export_revenue) == pytest.approx(-0.04)
    assert float(totals.net_bill) == pytest.approx(-0.015)


def test_a_slot_is_settled_only_when_nothing_more_can_be_booked_for_it(tmp_path: Path) -> None:
    db = ledger(tmp_path)
    post(db, [provisional(0, "import_cost", 0.1, 0.30)])
    reads = [
        meter(0, 0.2, 0.06),
        meter(SLOT, 0.2, 0.06),
        meter(2 * SLOT, 0.1, 0.03, quality="estimated"),
    ]
    # The ledger has read to 40 minutes: the second slot may still get entries.
    assert settle(db, reads, since=0, through=2400) == 2
    assert [e["at"] for e in by_kind(db, "import_settlement")] == [0]
    # Estimated reads may still change: never settled, however late.
    assert settle(db, reads, since=0, through=1e9) == 2
    assert [e["at"] for e in by_kind(db, "import_settlement")] == [0, SLOT]


def test_a_gap_is_settled_in_full_and_before_the_ledger_nothing(tmp_path: Path) -> None:
    db = ledger(tmp_path)
    post(
        db,
        [],
        state={"started": SLOT, "last": {"at": 4 * SLOT}},
        gap={"start": SLOT, "end": 3 * SLOT, "reason": "down", "energy": {}},
    )
    assert ledger_start(db, load_state(db)) == SLOT
    reads = [meter(0, 9.0, 2.7), meter(SLOT, 0.5, 0.15), meter(2 * SLOT, 0.4, 0.12)]
    settle(db, reads, since=SLOT, through=4 * SLOT)
    settled = by_kind(db, "import_settlement")
    # The slot before the first reading is not the ledger's; the gap's slots are the meter's.
    assert [(e["at"], round(e["kwh"], 6), round(e["amount"], 6)) for e in settled] == [
        (SLOT, 0.5, -0.15),
        (2 * SLOT, 0.4, -0.12),
    ]


def test_a_ledger_from_before_start_was_recorded_starts_at_its_oldest_entry(
    tmp_path: Path,
) -> None:
    db = ledger(tmp_path)
    assert ledger_start(db, {}) == float("inf")  # nothing booked: nothing to settle
    post(db, [provisional(600, "import_cost", 0.1, 0.3)])
    assert ledger_start(db, load_state(db)) == 600


def test_a_meter_read_that_makes_no_sense_is_refused_by_name(tmp_path: Path) -> None:
    db = ledger(tmp_path)
    with pytest.raises(UsageError, match=r"usage interval \[1\]: import_kwh must be a number"):
        settle(db, [meter(0, 0.1, 0.03), meter(SLOT, "lots", 0.03)], since=0, through=1e9)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match=r"\[0\]: kWh must not be negative"):
        settle(db, [meter(0, -0.1, 0.03)], since=0, through=1e9)
    assert events_between(db, 0, 1e12) == []  # nothing half-settled


async def test_the_sample_meter_needs_the_simulated_site() -> None:
    """``sources.usage: sample`` with a real inverter is a clear error, not a silent hole."""
    from flowengine.clock import VirtualClock
    from nodes.inputs.fetch import FetchError
    from nodes.replay.providers import ReplayUsage

    provider = ReplayUsage({}, VirtualClock(0.0))
    with pytest.raises(FetchError, match="no simulated site: use amber"):
        await provider.fetch(None, 0.0)
