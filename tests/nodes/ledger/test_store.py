"""The ledger store: a replayed posting never doubles, a failed one leaves nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from flowengine.database import open_database
from nodes.ledger.store import ensure_schema, events_between, gaps, load_state, post


def ledger(tmp_path: Path) -> sqlite3.Connection:
    db = open_database(tmp_path / "site.db", schema="")
    ensure_schema(db)
    return db


def event(at: float, kind: str, amount: float) -> dict[str, object]:
    return {
        "key": f"{at:.0f}:{kind}",
        "at": at,
        "kind": kind,
        "kwh": 1.0,
        "price": 0.3,
        "amount": amount,
        "import_w": 1200,
    }


def test_a_replayed_tick_posts_nothing_twice(tmp_path: Path) -> None:
    db = ledger(tmp_path)
    tick = [event(300, "import_cost", -0.3), event(300, "export_revenue", 0.05)]
    assert post(db, tick, state={"counters": {"grid_import": 1.0}}) == 2
    assert post(db, tick, state={"counters": {"grid_import": 1.0}}) == 0  # after a restart
    posted = events_between(db, 0, 600)
    assert [e["kind"] for e in posted] == ["import_cost", "export_revenue"]
    assert posted[0]["import_w"] == 1200  # what it came from is kept
    assert load_state(db) == {"counters": {"grid_import": 1.0}}


def test_a_failed_posting_leaves_neither_events_nor_state(tmp_path: Path) -> None:
    db = ledger(tmp_path)
    post(db, [event(300, "import_cost", -0.3)], state={"seen": 300})
    # The events go in first, then the state fails to encode: all of it rolls back.
    with pytest.raises(TypeError):
        post(db, [event(600, "import_cost", -0.3)], state={"seen": object()})
    assert [e["at"] for e in events_between(db, 0, 10_000)] == [300]
    assert load_state(db) == {"seen": 300}


def test_a_gap_is_recorded_with_its_energy_not_priced(tmp_path: Path) -> None:
    db = ledger(tmp_path)
    gap = {"start": 300, "end": 3900, "reason": "service down", "energy": {"grid_import": 2.4}}
    assert post(db, [], gap=gap) == 0
    post(db, [], gap=gap)  # replayed: still one gap
    assert gaps(db) == [gap]
    assert events_between(db, 0, 10_000) == []
