"""The ledger posted by the real flows over a virtual afternoon on the simulated site:
each tick once, the cash entries match the simulator's own meter, and a restart
resumes without a double posting (the SIGKILL version is issue 7's next step)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from flowengine.clock import VirtualClock
from flowengine.database import open_database
from flows import SITE_CONFIG
from nodes.ledger.store import events_between, gaps, load_state
from nodes.replay import SITE_METER, SiteMeterConnection
from powermaster.service import Options, Service
from tests.support.mosquitto import free_port

START = datetime(2026, 1, 15, 2, 0, tzinfo=UTC).timestamp()  # noon in Brisbane


async def run(tmp_path: Path, clock: VirtualClock, seconds: float) -> tuple[Any, Any]:
    """Run the demo service for ``seconds``; the cost basis it published at the end, and
    the simulated site's retailer (its meter, billed)."""
    site = Service(
        Options(
            config=SITE_CONFIG, data_dir=tmp_path / "data", simulator_port=free_port(), ui=False
        ),
        clock=clock,
    )
    await site.start()
    try:
        await clock.advance(seconds)
        await site.engine.settle()
        provided = site.engine.connections[SITE_METER]  # the service provides it
        assert isinstance(provided, SiteMeterConnection)
        return site.engine.context.get("global", "cost_basis"), provided.meter
    finally:
        await site.stop()


async def test_every_tick_is_posted_once_and_a_restart_resumes(tmp_path: Path) -> None:
    clock = VirtualClock(START)
    published, retailer = await run(tmp_path, clock, 3 * 3600)
    db = open_database(tmp_path / "data" / "site.db", schema="")
    # The control sees the ledger's cost basis (its opportunistic level's break-even).
    basis = load_state(db)["basis"]
    assert published == {
        "per_kwh": basis["basis"],
        "stored_kwh": basis["stored_kwh"],
        "at": load_state(db)["last"]["at"],
    }
    assert basis["stored_kwh"] > 0
    posted = events_between(db, 0, 1e12)
    keys = [e["key"] for e in posted]
    assert len(keys) == len(set(keys))
    ticks = {e["key"].split("/")[0] for e in posted}
    assert len(ticks) >= 3 * 12 - 2  # every 5-minute interval after the first reading
    assert {"import_cost", "export_revenue", "baseline_no_battery", "baseline_self_use"} <= {
        e["kind"] for e in posted
    }
    for e in posted:
        if e["kind"] == "import_cost":
            assert e["amount"] == pytest.approx(-e["kwh"] * e["price"])
    # Each half hour the settle flow brought the slot's cash entries to the meter's bill.
    settled = [e for e in posted if e["kind"] == "import_settlement"]
    assert len(settled) >= 5
    for slot in retailer.usage(START - 1, clock.time()):
        if not any(e["at"] == slot["start"] for e in settled):
            continue
        inside = [e for e in posted if slot["start"] <= e["at"] < slot["end"]]
        spent = -sum(e["amount"] for e in inside if e["kind"].startswith("import_"))
        earned = sum(e["amount"] for e in inside if e["kind"].startswith("export_"))
        assert spent == pytest.approx(slot["import_cost"], abs=1e-9)
        assert earned == pytest.approx(slot["export_revenue"], abs=1e-9)
    before = len(posted)

    await clock.advance(1800)  # the service is down for half an hour
    await run(tmp_path, clock, 3600)
    posted = events_between(db, 0, 1e12)
    keys = [e["key"] for e in posted]
    assert len(keys) == len(set(keys)) and len(posted) > before
    down = gaps(db)
    assert down and down[0]["end"] - down[0]["start"] >= 1800
    # The demo's simulated inverter restarts with the service, its counters at zero:
    # either way the span is a gap, never a guess.
    assert "service was down" in down[0]["reason"] or "meter reset" in down[0]["reason"]
    db.close()
