"""Context and traces live in one SQLite file (WAL) and survive a restart."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from flowengine import VirtualClock
from tests.flowengine.helpers import start_engine

FLOW = """
flow: counter
mode: parallel
max_runs: 100
nodes:
  - {id: store, type: core.context_set, config: {key: global.last}, wires: [maybe_fail]}
  - {id: maybe_fail, type: test.split, wires: {high: [boom]}}
  - {id: boom, type: test.fail}
"""


async def test_context_survives_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "engine.db"
    clock = VirtualClock(1_000_000)
    engine = await start_engine(FLOW, clock, db)
    engine.context.set("flow:counter", "n", {"count": 3})
    handle = engine.start_run("counter", 5)
    assert handle is not None
    await handle.wait()
    await engine.stop()
    engine.close()
    assert sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    again = await start_engine(FLOW, clock, db)
    assert again.context.get("global", "last") == 5
    assert again.context.get("flow:counter", "n") == {"count": 3}
    assert [r["outcome"] for r in again.traces.recent("counter")] == ["ok"]
    await again.stop()
    again.close()


async def test_a_flood_of_good_runs_keeps_the_failure(tmp_path: Path) -> None:
    db = tmp_path / "engine.db"
    clock = VirtualClock(1_000_000)
    engine = await start_engine(FLOW, clock, db, keep_traces=5)
    handle = engine.start_run("counter", 50)  # above 10: fails
    assert handle is not None
    failed = await handle.wait()
    for n in range(40):
        await clock.advance(1)
        run = engine.start_run("counter", n % 10)
        assert run is not None
        await run.wait()
    outcomes = [r["outcome"] for r in engine.traces.recent("counter")]
    assert outcomes.count("ok") == 5 and outcomes.count("error") == 1
    trace = engine.traces.get("counter", failed.run_id)
    assert trace is not None
    assert trace["error"] == "boom: RuntimeError: boom"
    await engine.stop()
    engine.close()
    rows = (
        sqlite3.connect(db)
        .execute("SELECT outcome, count(*) FROM traces GROUP BY outcome ORDER BY outcome")
        .fetchall()
    )
    assert rows == [("error", 1), ("ok", 5)]


async def test_trace_records_each_step_with_its_source(tmp_path: Path) -> None:
    clock = VirtualClock(1_000_000)
    engine = await start_engine(FLOW, clock)
    handle = engine.start_run("counter", 42)
    assert handle is not None
    trace = (await handle.wait()).to_dict()
    assert [(s["node"], s["source"], s["status"]) for s in trace["steps"]] == [
        ("store", -1, "ok"),
        ("maybe_fail", 0, "ok"),
        ("boom", 1, "error"),
    ]
    assert trace["steps"][0]["output"] == {"out": 42}
    stored = engine.traces.get("counter", handle.run_id)
    assert stored is not None and stored["flow"]["flow"] == "counter"
    await engine.stop()
