"""Time that never runs backwards (issue 18): the demo's clock and simulated site resume
from the data directory, and a clock behind the newest record is waited out: health
degraded with the reason, no history or ledger rows, recovery by itself."""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flowengine import RealClock, VirtualClock
from nodes.ledger.store import events_between, gaps
from powermaster.service import Options, Service
from powermaster.sim.site import SiteModel
from powermaster.timekeeping import (
    CLOCK_FILE,
    ClockRecord,
    newest_stored,
    read_record,
    restore_site,
    resume_at,
    site_state,
    write_record,
)

START = datetime(2026, 1, 15, 2, 0, tzinfo=UTC).timestamp()  # noon in Brisbane
TICK_S = 300.0


class Evening:
    """No sun and 2 kW of load: the simulated battery runs down."""

    slot_seconds = 1800.0

    def __call__(self, t: float) -> tuple[float, float]:
        return 0.0, 2000.0


def demo(data_dir: Path, port: int, clock: VirtualClock) -> Service:
    return Service(Options(data_dir=data_dir, simulator_port=port, ui=False), clock=clock)


def count(db_path: Path, query: str, *args: float) -> int:
    with closing(sqlite3.connect(db_path)) as db:
        return int(db.execute(query, args).fetchone()[0])


def entries_since(db_path: Path, since: float) -> int:
    """Ledger entries dated from ``since`` on, and settlements of the slots ending from
    then on (a settlement is dated at its slot's start)."""
    with closing(sqlite3.connect(db_path)) as db:
        posted = events_between(db, 0, 1e12)
    return sum(1 for e in posted if max(e["at"], e.get("detail", {}).get("slot_end", 0)) >= since)


async def test_a_restarted_demo_resumes_its_clock_and_its_site(
    tmp_path: Path, free_port: int
) -> None:
    data = tmp_path / "data"
    clock = VirtualClock(START)
    site = demo(data, free_port, clock)
    await site.start()
    try:
        await clock.advance(3 * 3600)
    finally:
        await site.stop()
    assert site.simulator is not None
    model = site.simulator.model
    stopped_at, soc, meter = clock.time(), model.soc, model.meter.total
    record = read_record(data)
    assert record is not None and record.time == stopped_at
    assert record.site is not None and record.site["soc"] == soc

    # Down for half an hour of real time: the simulated site lived on at real speed.
    downtime = 1800.0
    db_path = data / "site.db"
    resumed = resume_at(record, newest_stored(db_path), record.wall + downtime)
    assert resumed == stopped_at + downtime
    clock = VirtualClock(resumed)  # what `power-master run --speed 300` starts on, virtual
    site = demo(data, free_port, clock)
    await site.start()
    try:
        assert site.simulator is not None
        again = site.simulator.model
        # The SOC carries on (over the downtime, in the self-use it was handed back in:
        # the afternoon sun tops it up) and so do the inverter's counters: no reset to the
        # configured 50 %.
        assert again.time == resumed
        assert soc > 0.9 and soc <= again.soc <= soc + 0.05
        assert again.meter.total.load > meter.load and again.meter.total.pv >= meter.pv
        await clock.advance(3600)
        await site.engine.settle()
        now = clock.time()
        health = site.health()
        assert health["status"] == "ok", health["reasons"]
    finally:
        await site.stop()
    db = sqlite3.connect(db_path)
    try:
        # Nothing in the future; the one gap is the downtime (from the last reading before
        # the stop, a tick at most before it), the counters carried on across it.
        assert events_between(db, now + 1e-6, 1e12) == []
        ahead = "SELECT COUNT(*) FROM telemetry_samples WHERE timestamp > ?"
        assert count(db_path, ahead, now) == 0
        (down,) = gaps(db)
        assert stopped_at - TICK_S <= down["start"] <= stopped_at
        assert resumed <= down["end"] <= resumed + 1
        assert down["end"] - down["start"] <= downtime + TICK_S
        assert "service was down" in down["reason"]
        assert down["energy"]["load"] > 0
    finally:
        db.close()


async def test_a_clock_behind_the_newest_record_is_waited_out(
    tmp_path: Path, free_port: int
) -> None:
    data = tmp_path / "data"
    clock = VirtualClock(START)
    site = demo(data, free_port, clock)
    await site.start()
    try:
        await clock.advance(3600)
    finally:
        await site.stop()
    db_path = data / "site.db"
    newest = newest_stored(db_path)
    assert newest is not None and START + 3600 - TICK_S <= newest <= START + 3600
    rows = (
        "SELECT COUNT(*) FROM telemetry_samples",
        "SELECT COUNT(*) FROM ledger_events",
        "SELECT COUNT(*) FROM ledger_gaps",
    )
    before = [count(db_path, query) for query in rows]

    # Booted two hours into the past (a Pi without a real-time clock, before NTP).
    clock = VirtualClock(START + 3600 - 7200)
    site = demo(data, free_port, clock)
    await site.start()
    try:
        await clock.advance(60)
        health = site.health()
        assert health["status"] == "degraded"
        assert health["reasons"] == [
            "the clock reads 2026-01-15 11:00, behind the newest record 2026-01-15 13:00: "
            "waiting for the time to be set (NTP), or a data dir a --speed demo ran ahead: "
            "run with another --data-dir"
        ]
        await clock.advance(3600)
        # The site is still controlled, tick by tick, and nothing is written out of order.
        assert site.engine.context.get("global", "decision")["at"] >= clock.time() - TICK_S
        assert site.health()["status"] == "degraded"
        assert [count(db_path, query) for query in rows] == before
        # It catches up by itself: health is ok at once, and the rows go on after the newest.
        await clock.run_until(START + 3600)
        assert site.health()["status"] == "ok"
        await clock.advance(1800)
        await site.engine.settle()
        assert site.health()["status"] == "ok"
        samples = "SELECT COUNT(*) FROM telemetry_samples WHERE timestamp > ?"
        assert count(db_path, samples, newest) >= 5
        assert count(db_path, samples, 0) - count(db_path, samples, newest) == before[0]
        assert entries_since(db_path, newest) == count(db_path, rows[1]) - before[1]
    finally:
        await site.stop()
    record = read_record(data)
    assert record is not None and record.time == clock.time()


def test_the_resume_point_is_never_before_a_record() -> None:
    record = ClockRecord(time=2_000_000_000.0, wall=1_700_000_000.0)
    assert resume_at(record, None, 1_700_000_600.0) == 2_000_000_600.0
    # The wall clock went backwards while stopped: no downtime, never a step back.
    assert resume_at(record, None, 1_600_000_000.0) == 2_000_000_000.0
    # A crash after the last save: the site database's newest row is later.
    assert resume_at(record, 2_000_009_000.0, 1_700_000_600.0) == 2_000_009_000.0
    assert resume_at(None, 2_000_009_000.0, 1_700_000_600.0) == 2_000_009_000.0
    assert resume_at(None, None, 1_700_000_600.0) is None


def test_only_the_simulated_site_resumes_its_clock(tmp_path: Path) -> None:
    """The wiring of ``power-master run``: the demo's RealClock starts at the resume
    point (the clock is only read, never slept on); a real inverter's time is the wall's."""
    data = tmp_path / "data"
    ahead = time.time() + 10 * 86400
    write_record(data, ClockRecord(time=ahead, wall=time.time() - 600))
    demo_site = Service(Options(data_dir=data, ui=False, speed=300))
    assert isinstance(demo_site.clock, RealClock)
    assert demo_site.clock.time() == pytest.approx(ahead + 600, abs=60)
    real = Service(Options(data_dir=data, ui=False, speed=300, inverter="192.0.2.10:8899"))
    assert real.clock.time() == pytest.approx(time.time(), abs=60)
    for service in (demo_site, real):
        service.engine.close()


def test_the_simulated_site_carries_on_from_its_state(tmp_path: Path) -> None:
    model = SiteModel(Evening(), START)
    model.set_setting("min_soc_on_grid_pct", 20, START)
    model.advance_to(START + 5400)
    state = json.loads(json.dumps(site_state(model)))  # as clock.json keeps it
    fresh = SiteModel(Evening(), START + 5400)
    restore_site(fresh, state, START + 5400)
    assert (fresh.soc, fresh.settings, fresh.meter.total) == (
        model.soc,
        model.settings,
        model.meter.total,
    )
    assert fresh.meter.slots == model.meter.slots
    assert fresh.meter.today(fresh.time) == model.meter.today(model.time)
    # The downtime runs on: the same as the model running through it.
    later = SiteModel(Evening(), START + 9000)
    restore_site(later, state, START + 9000)
    model.advance_to(START + 9000)
    assert later.soc == pytest.approx(model.soc) and later.time == model.time


def test_a_damaged_record_starts_afresh(tmp_path: Path) -> None:
    (tmp_path / CLOCK_FILE).write_text("{not json")
    assert read_record(tmp_path) is None
    assert read_record(tmp_path / "nowhere") is None
    assert newest_stored(tmp_path / "site.db") is None
